package node

import (
	"context"
	"errors"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/rpc"
)

func (n *Node) iHave(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.IHaveReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	ids, err := req.IDs.Unpack()
	if err != nil {
		return nil, err
	}
	n.files.IHave(req.ReqID, req.Node, ids)
	return nil, nil
}

func (n *Node) putBlocks(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.PutBlocksReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	key, err := rpc.ParseRef(req.Key)
	if err != nil {
		return nil, err
	}
	ids, err := req.IDs.Unpack()
	if err != nil {
		return nil, err
	}
	return nil, n.files.StoreBlocks(key, ids, m.Data)
}

func (n *Node) putManifest(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.PutManifestReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	ref, err := rpc.ParseRef(req.Ref)
	if err != nil {
		return nil, err
	}
	var pending blocks.Ref
	if len(req.Pending) > 0 {
		if pending, err = rpc.ParseRef(req.Pending); err != nil {
			return nil, err
		}
	}
	if len(m.Data) != 1 {
		return nil, rpc.Errorf(rpc.ErrBadRequest, "put_manifest wants the record as one data frame, got %d", len(m.Data))
	}
	held, err := n.files.AdoptManifest(ref, pending, m.Data[0])
	if err != nil {
		return nil, err
	}
	return &rpc.Reply{Body: &rpc.PutManifestRep{Held: held}}, nil
}

// getBlocks serves blocks from this node's store only: a peer asking has
// already decided this node holds them, and must not start a fetch here.
func (n *Node) getBlocks(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.GetBlocksReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	ids, err := req.IDs.Unpack()
	if err != nil {
		return nil, err
	}
	pool := n.files.Pool()
	rep := &rpc.GetBlocksRep{}
	var data, bufs [][]byte
	var missing []blocks.ID
	var size int64
	for _, id := range ids {
		if size >= maxReplySize {
			missing = append(missing, id)
			continue
		}
		buf := pool.Get(blocks.DefaultBlockSize)
		b, err := n.store.GetBlock(id, buf)
		if errors.Is(err, blocks.ErrNotFound) {
			pool.Put(buf)
			missing = append(missing, id)
			continue
		}
		if err != nil {
			pool.Put(buf)
			releaseAll(pool, bufs)
			return nil, err
		}
		bufs = append(bufs, buf)
		data = append(data, b)
		size += int64(len(b))
	}
	if len(missing) > 0 {
		rep.Missing = rpc.PackIDs(missing)
	}
	n.files.CountServed(size)
	return &rpc.Reply{Body: rep, Data: data, Done: func() { releaseAll(pool, bufs) }}, nil
}

func releaseAll(pool interface{ Put([]byte) }, bufs [][]byte) {
	for _, b := range bufs {
		pool.Put(b)
	}
}

func (n *Node) getManifest(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	ref, err := decodeRef(m)
	if err != nil {
		return nil, err
	}
	rec, err := n.files.ManifestRecord(ref)
	if err != nil {
		return nil, err
	}
	return &rpc.Reply{Data: [][]byte{rec}}, nil
}

func (n *Node) forget(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.ForgetReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	ref, err := rpc.ParseRef(req.Ref)
	if err != nil {
		return nil, err
	}
	freed, err := n.files.Forget(ref, time.Unix(0, req.At))
	if err != nil {
		return nil, err
	}
	return &rpc.Reply{Body: &rpc.DeleteRep{Freed: freed}}, nil
}

func (n *Node) tombstones(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.TombstonesReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	page, more, err := n.files.TombstonesPage(time.Unix(0, req.Since))
	if err != nil {
		return nil, err
	}
	rep := &rpc.TombstonesRep{More: more, At: make([]int64, len(page))}
	refs := make([]blocks.ID, len(page))
	for i, t := range page {
		refs[i], rep.At[i] = blocks.ID(t.Ref), t.At.UnixNano()
	}
	rep.Refs = rpc.PackIDs(refs)
	return &rpc.Reply{Body: rep}, nil
}
