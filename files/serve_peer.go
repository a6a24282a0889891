package files

import (
	"context"
	"errors"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/pubsub"
	"github.com/emerge-dev/emerge/rpc"
)

// The peer side of the object protocol: the ops other nodes send while
// they put, fetch, delete and prefetch, next to the code that sends them.

// MaxReplyBytes caps the block bytes of one reply (get_blocks, get_object).
const MaxReplyBytes = 64 << 20

// Register serves the peer ops of the object protocol on mux.
func (s *Service) Register(mux *rpc.Mux) {
	mux.Handle(rpc.OpIHave, s.serveIHave)
	mux.Handle(rpc.OpPutBlocks, s.servePutBlocks)
	mux.Handle(rpc.OpPutManifest, s.servePutManifest)
	mux.Handle(rpc.OpGetBlocks, s.serveGetBlocks)
	mux.Handle(rpc.OpGetManifest, s.serveGetManifest)
	mux.Handle(rpc.OpForget, s.serveForget)
	mux.Handle(rpc.OpTombstones, s.serveTombstones)
	mux.Handle(rpc.OpPrefetchList, s.servePrefetchList)
}

// HandleMessage applies a bus message about objects: who-has, delete, have
// and prefetch. Others are ignored.
func (s *Service) HandleMessage(m pubsub.Message) {
	switch m.Type {
	case pubsub.TypeWhoHas:
		s.HandleWhoHas(m)
	case pubsub.TypeDelete:
		s.HandleDelete(m)
	case pubsub.TypeHave:
		s.HandleHave(m)
	case pubsub.TypePrefetch:
		s.HandlePrefetch(m)
	}
}

func (s *Service) serveIHave(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.IHaveReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	ids, err := req.IDs.Unpack()
	if err != nil {
		return nil, err
	}
	s.IHave(req.ReqID, req.Node, ids)
	return nil, nil
}

func (s *Service) servePutBlocks(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
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
	return nil, s.StoreBlocks(key, ids, m.Data)
}

func (s *Service) servePutManifest(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
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
	held, err := s.AdoptManifest(ref, pending, m.Data[0])
	if err != nil {
		return nil, err
	}
	return &rpc.Reply{Body: &rpc.PutManifestRep{Held: held}}, nil
}

// serveGetBlocks serves blocks from this node's store only: a peer asking
// has already decided this node holds them, and must not start a fetch
// here.
func (s *Service) serveGetBlocks(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.GetBlocksReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	ids, err := req.IDs.Unpack()
	if err != nil {
		return nil, err
	}
	rep := &rpc.GetBlocksRep{}
	var data, bufs [][]byte
	var missing []blocks.ID
	var size int64
	for _, id := range ids {
		if size >= MaxReplyBytes {
			missing = append(missing, id)
			continue
		}
		buf := s.pool.Get(blocks.DefaultBlockSize)
		b, err := s.store.GetBlock(id, buf)
		if errors.Is(err, blocks.ErrNotFound) {
			s.pool.Put(buf)
			missing = append(missing, id)
			continue
		}
		if err != nil {
			s.pool.Put(buf)
			s.releaseAll(bufs)
			return nil, err
		}
		bufs = append(bufs, buf)
		data = append(data, b)
		size += int64(len(b))
	}
	if len(missing) > 0 {
		rep.Missing = rpc.PackIDs(missing)
	}
	s.pf.served.Add(size)
	return &rpc.Reply{Body: rep, Data: data, Done: func() { s.releaseAll(bufs) }}, nil
}

func (s *Service) releaseAll(bufs [][]byte) {
	for _, b := range bufs {
		s.pool.Put(b)
	}
}

func (s *Service) serveGetManifest(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.RefReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	ref, err := rpc.ParseRef(req.Ref)
	if err != nil {
		return nil, err
	}
	rec, err := s.ManifestRecord(ref)
	if err != nil {
		return nil, err
	}
	return &rpc.Reply{Data: [][]byte{rec}}, nil
}

func (s *Service) serveForget(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.ForgetReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	ref, err := rpc.ParseRef(req.Ref)
	if err != nil {
		return nil, err
	}
	freed, err := s.Forget(ref, time.Unix(0, req.At))
	if err != nil {
		return nil, err
	}
	return &rpc.Reply{Body: &rpc.DeleteRep{Freed: freed}}, nil
}

func (s *Service) serveTombstones(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.TombstonesReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	page, more, err := s.TombstonesPage(time.Unix(0, req.Since))
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

// servePrefetchList answers a node catching up with the intents this node
// knows.
func (s *Service) servePrefetchList(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	return &rpc.Reply{Body: &rpc.PrefetchIntentsRep{Intents: s.Intents()}}, nil
}
