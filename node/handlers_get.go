package node

import (
	"context"

	"github.com/emerge-dev/emerge/files"
	"github.com/emerge-dev/emerge/rpc"
)

// replyBudget is how many block bytes a GetObject with Count 0 returns; a
// reply always carries at least one block.
const (
	replyBudget = 4 << 20
)

func (n *Node) getObject(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.GetObjectReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	ref, err := rpc.ParseRef(req.Ref)
	if err != nil {
		return nil, err
	}
	man, err := n.files.Manifest(ctx, ref)
	if err != nil {
		return nil, err
	}
	if req.Manifest {
		n.hotAfterFetch(ref, man)
	}
	first, count := req.First, req.Count
	if first < 0 || first > len(man.Blocks) || count < 0 {
		return nil, rpc.Errorf(rpc.ErrBadRequest, "blocks %d+%d of an object with %d", first, count, len(man.Blocks))
	}
	if count == 0 {
		count = max(1, replyBudget/man.BlockSize)
	}
	count = min(count, len(man.Blocks)-first, max(1, files.MaxReplyBytes/man.BlockSize))
	rep := &rpc.GetObjectRep{Manifest: req.Manifest, First: first, Count: count, Size: man.Size, Blocks: len(man.Blocks)}
	data := make([][]byte, 0, count+1)
	if req.Manifest {
		rec, err := man.MarshalRecord()
		if err != nil {
			return nil, err
		}
		data = append(data, rec)
	}
	pool := n.files.Pool()
	bufs := make([][]byte, 0, count)
	release := func() {
		for _, b := range bufs {
			pool.Put(b)
		}
	}
	for i := first; i < first+count; i++ {
		buf := pool.Get(man.BlockLen(i))
		bufs = append(bufs, buf)
		b, err := n.files.ReadBlock(ctx, ref, man, i, buf)
		if err != nil {
			release()
			return nil, err
		}
		data = append(data, b)
	}
	return &rpc.Reply{Body: rep, Data: data, Done: release}, nil
}
