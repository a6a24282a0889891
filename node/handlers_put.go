package node

import (
	"bytes"
	"context"
	"io"

	"github.com/emerge-dev/emerge/files"
	"github.com/emerge-dev/emerge/rpc"
)

// putWindow is the number of PutData requests a client may keep in flight.
const putWindow = 8

func (n *Node) putObject(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.PutObjectReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	var total int64
	readers := make([]io.Reader, len(m.Data))
	for i, d := range m.Data {
		total += int64(len(d))
		readers[i] = bytes.NewReader(d)
	}
	if total > maxInline {
		return nil, rpc.Errorf(rpc.ErrTooLarge, "put_object of %d bytes, limit %d: use a streamed upload", total, maxInline)
	}
	n.metrics.ClientReceived(int(total))
	st, err := n.files.Put(ctx, io.MultiReader(readers...), putOptions(req.PutParams))
	if err != nil {
		return nil, err
	}
	n.makeHotLater(st.Ref, st.Manifest)
	return putReply(st), nil
}

func (n *Node) putStart(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.PutStartReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	u, err := n.files.Begin(putOptions(req.PutParams))
	if err != nil {
		return nil, err
	}
	return &rpc.Reply{Body: &rpc.PutStartRep{Upload: u.ID(), BlockSize: u.BlockSize(), Window: putWindow}}, nil
}

func (n *Node) putData(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.PutDataReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	u, err := n.files.Upload(req.Upload)
	if err != nil {
		return nil, err
	}
	for i, d := range m.Data {
		if err := u.Write(ctx, req.Seq+i, d); err != nil {
			return nil, err
		}
		n.metrics.ClientReceived(len(d))
	}
	return nil, nil
}

func (n *Node) putCommit(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.PutCommitReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	u, err := n.files.Upload(req.Upload)
	if err != nil {
		return nil, err
	}
	st, err := u.Commit(ctx, req.Blocks, req.Size)
	if err != nil {
		return nil, err
	}
	n.makeHotLater(st.Ref, st.Manifest)
	return putReply(st), nil
}

func (n *Node) putAbort(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.PutAbortReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	u, err := n.files.Upload(req.Upload)
	if err != nil {
		return nil, err
	}
	u.Abort()
	return nil, nil
}

func putReply(st files.Stored) *rpc.Reply {
	return &rpc.Reply{Body: &rpc.PutRep{Ref: st.Ref[:], Size: st.Manifest.Size, Blocks: len(st.Manifest.Blocks),
		Copies: st.Copies, Replicas: st.Manifest.Replicas, Prefetch: st.Prefetch}}
}
