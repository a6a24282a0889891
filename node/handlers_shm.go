package node

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/blocks/shm"
	"github.com/emerge-dev/emerge/rpc"
)

// handleShm registers the shared-memory ops. OpShmClose is not served (see
// rpc/ops_shm.go).
func (n *Node) handleShm(m *rpc.Mux) {
	m.Handle(rpc.OpShmGet, n.shmGet)
	m.Handle(rpc.OpShmCreate, n.shmCreate)
	m.Handle(rpc.OpShmSeal, n.shmSeal)
	m.Handle(rpc.OpShmAbort, n.shmAbort)
}

func (n *Node) shmTier() (*shm.Tier, error) {
	if n.shm == nil {
		return nil, rpc.Errorf(rpc.ErrUnsupported, "shared memory is off on node %s", n.id)
	}
	return n.shm.tier, nil
}

// shmGet makes an object hot, inline, and names its file. The manifest is
// looked up first, so a deleted object is never served from a stale copy.
func (n *Node) shmGet(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	tier, err := n.shmTier()
	if err != nil {
		return nil, err
	}
	var req rpc.ShmGetReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	ref, err := rpc.ParseRef(req.Ref)
	if err != nil {
		return nil, err
	}
	man, err := n.files.Manifest(ctx, ref)
	if err != nil {
		if errors.Is(err, blocks.ErrDeleted) || errors.Is(err, blocks.ErrNotFound) {
			n.dropHot(ref)
		}
		return nil, err
	}
	path, size, err := tier.Acquire(ref)
	if errors.Is(err, shm.ErrNotFound) && !n.allLocal(man) {
		// Making the hot copy means fetching blocks: on a slow link that
		// outlasts any reply deadline. The client streams instead, with
		// progress as blocks land; the hot copy follows for the next get.
		n.makeHotLater(ref, man)
		return &rpc.Reply{Body: &rpc.ShmFileRep{Size: man.Size, Stream: true}}, nil
	}
	for try := 0; errors.Is(err, shm.ErrNotFound) && try < 2; try++ {
		if err = n.makeHot(ctx, ref, man); err == nil {
			path, size, err = tier.Acquire(ref)
		}
	}
	if err != nil {
		return nil, shmErr(err)
	}
	n.shm.gets.Add(1)
	return &rpc.Reply{Body: &rpc.ShmFileRep{Name: filepath.Base(path), Path: path, Size: size}}, nil
}

func (n *Node) shmCreate(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	tier, err := n.shmTier()
	if err != nil {
		return nil, err
	}
	var req rpc.ShmCreateReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	if req.Size < 0 || req.Size > int64(blocks.MaxBlocks)*blocks.MaxBlockSize {
		return nil, rpc.Errorf(rpc.ErrBadRequest, "upload of %d bytes", req.Size)
	}
	u, err := tier.CreateUpload(req.Size)
	if err != nil {
		return nil, shmErr(err)
	}
	return &rpc.Reply{Body: &rpc.ShmFileRep{Name: u.Name, Path: u.Path, Size: u.Size}}, nil
}

// shmSeal persists a filled upload like a streamed put, then keeps the file
// as the object's hot copy. The upload is gone afterwards either way.
func (n *Node) shmSeal(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	tier, err := n.shmTier()
	if err != nil {
		return nil, err
	}
	var req rpc.ShmSealReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	if err := rpc.CheckShmName(req.Name); err != nil {
		return nil, err
	}
	f, size, err := tier.SealUpload(req.Name)
	if err != nil {
		if !errors.Is(err, shm.ErrBusy) { // a busy upload stays for the client to retry or abort
			tier.DropUpload(req.Name)
		}
		return nil, shmErr(err)
	}
	ctx, run := n.shm.beginSeal(ctx, req.Name)
	defer run.end()
	st, err := n.files.PutAt(ctx, f, size, putOptions(req.PutParams))
	run.st, run.err = st, err
	f.Close()
	if err == nil && st.Manifest.Size != size {
		err = fmt.Errorf("upload %s: persisted %d of %d bytes", req.Name, st.Manifest.Size, size)
	}
	ref := st.Ref
	if err != nil {
		tier.DropUpload(req.Name)
		return nil, err
	}
	if err := tier.CommitUpload(req.Name, ref); err != nil {
		n.shm.log.Warn().Err(err).Str("ref", ref.Short()).Msg("upload persisted but not kept hot")
		tier.DropUpload(req.Name)
	}
	n.shm.puts.Add(1)
	return putReply(st), nil
}

func (n *Node) shmAbort(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	tier, err := n.shmTier()
	if err != nil {
		return nil, err
	}
	var req rpc.ShmAbortReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	if err := rpc.CheckShmName(req.Name); err != nil {
		return nil, err
	}
	// A client interrupted while the node seals asks for an abort: the seal
	// stops, unless it had already stored the object, which is then said.
	if st, stored := n.shm.cancelSeal(req.Name); stored {
		return putReply(st), nil
	}
	return nil, shmErr(tier.DropUpload(req.Name))
}
