package node

import (
	"context"

	"github.com/emerge-dev/emerge/rpc"
)

// join merges the sender's record (a newcomer, or a member leaving) and
// answers with the member table. A newcomer is re-announced at once, so
// every member pulls the table and subscribes to it within a heartbeat.
func (n *Node) join(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.JoinReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	rec := fromWire(req.Member)
	if err := rec.Validate(); err != nil {
		return nil, rpc.Errorf(rpc.ErrBadRequest, "join: %v", err)
	}
	if n.cluster.reg.Merge(rec) && !rec.Left {
		n.cluster.heartbeat()
	}
	return n.table()
}

func (n *Node) registryTable(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	return n.table()
}

func (n *Node) table() (*rpc.Reply, error) {
	b, err := n.cluster.reg.Snapshot()
	if err != nil {
		return nil, err
	}
	return &rpc.Reply{Body: &rpc.TableRep{Digest: n.cluster.reg.Digest()}, Data: [][]byte{b}}, nil
}

// members lists the member table as this node sees it, with recent events.
func (n *Node) members(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.MembersReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	reg := n.cluster.reg
	rep := &rpc.MembersRep{Self: n.id, Digest: reg.Digest()}
	for _, st := range reg.Members() {
		ms := rpc.MemberStatus{MemberRecord: toWire(st.Member), State: st.State.String()}
		if !st.LastHeard.IsZero() {
			ms.Heard = st.LastHeard.UnixNano()
		}
		if !st.Since.IsZero() {
			ms.Since = st.Since.UnixNano()
		}
		rep.Members = append(rep.Members, ms)
	}
	for _, e := range reg.Events(req.Since) {
		rep.Events = append(rep.Events, rpc.MemberEvent{Seq: e.Seq, Kind: e.Kind.String(), ID: e.Member.ID,
			From: e.From.String(), To: e.To.String(), At: e.At.UnixNano()})
	}
	return &rpc.Reply{Body: rep}, nil
}
