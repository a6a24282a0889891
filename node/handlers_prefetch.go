package node

import (
	"context"

	"github.com/emerge-dev/emerge/rpc"
)

// prefetch starts spreading an object this node knows to groups and nodes.
func (n *Node) prefetch(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.PrefetchReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	ref, err := rpc.ParseRef(req.Ref)
	if err != nil {
		return nil, err
	}
	return nil, n.files.Prefetch(ctx, ref, req.Groups, req.Nodes)
}

// prefetchStatus reports this node's progress (Local) or every target's.
func (n *Node) prefetchStatus(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.PrefetchStatusReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	ref, err := rpc.ParseRef(req.Ref)
	if err != nil {
		return nil, err
	}
	if req.Local {
		st := n.files.PrefetchLocal(ref)
		return &rpc.Reply{Body: &rpc.PrefetchStatusRep{Ref: ref[:], Nodes: []rpc.PrefetchNode{st},
			Served: st.Served}}, nil
	}
	rep, err := n.files.PrefetchStatus(ctx, ref)
	if err != nil {
		return nil, err
	}
	return &rpc.Reply{Body: rep}, nil
}
