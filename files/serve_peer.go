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
	mux.Handle(rpc.OpHolds, s.serveHolds)
	mux.Handle(rpc.OpRepairHint, s.serveRepairHint)
	mux.Handle(rpc.OpRelease, s.serveRelease)
	mux.Handle(rpc.OpHolders, s.serveHolders)
	mux.Handle(rpc.OpHealth, s.serveHealth)
	mux.Handle(rpc.OpPutSwarm, s.servePutSwarm)
	mux.Handle(rpc.OpPutLanded, s.servePutLanded)
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
	if err := s.StoreBlocks(key, ids, m.Data); err != nil {
		return nil, err
	}
	if req.Repair {
		s.heal.received(ids)
	}
	s.cfg.Metrics.PeerReceived(frameBytes(m.Data))
	return nil, nil
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
	held, err := s.AdoptManifest(ref, pending, m.Data[0], req.Kept)
	if err != nil {
		return nil, err
	}
	return &rpc.Reply{Body: &rpc.PutManifestRep{Held: held}}, nil
}

// serveGetBlocks serves blocks from this node's store only: a peer asking
// has already decided this node holds them, and must not start a fetch
// here. The blocks are read without the hash check: the receiver hashes
// every block anyway (receiveBlock), and tells this node when one does not
// match (a suspect repair hint, checkCopies), which then quarantines the
// bad copy. So a block crossing to a peer is hashed once, by the receiver.
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
		b, err := s.store.GetBlockUnverified(id, buf)
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
	s.cfg.Metrics.PeerSent(int(size))
	return &rpc.Reply{Body: rep, Data: data, Done: func() { s.releaseAll(bufs) }}, nil
}

// checkCopies re-reads this node's copies of ids with the hash check: a
// peer received bytes from us that did not match. GetBlock quarantines a
// bad copy (and the repair that follows restores it from a good one).
func (s *Service) checkCopies(ids []blocks.ID) {
	buf := s.pool.Get(blocks.DefaultBlockSize)
	defer s.pool.Put(buf)
	for _, id := range ids {
		if _, err := s.store.GetBlock(id, buf); err != nil && !errors.Is(err, blocks.ErrNotFound) {
			s.log.Warn().Err(err).Str("block", id.Short()).Msg("check of a copy a peer found wrong")
		}
	}
}

// suspect tells owner that the bytes it sent for id did not match
// (checkCopies there), so a bad copy cannot keep being served.
func (s *Service) suspect(ctx context.Context, owner string, id blocks.ID) {
	mem, ok := s.member(owner)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), suspectTimeout)
	defer cancel()
	_, err := s.net.Call(ctx, mem.RPC, rpc.OpRepairHint, &rpc.RepairHintReq{IDs: rpc.PackIDs([]blocks.ID{id}), Suspect: true}, nil)
	if err != nil {
		s.log.Debug().Err(err).Str("peer", owner).Str("block", id.Short()).Msg("suspect hint not delivered")
	}
}

// suspectTimeout bounds the hint a receiver sends about a bad block.
const suspectTimeout = 5 * time.Second

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
	if errors.Is(err, blocks.ErrDeleted) {
		if at, ok, terr := s.store.Tombstone(ref); terr == nil && ok {
			return &rpc.Reply{Body: &rpc.GetManifestRep{Tomb: at.UnixNano()}}, nil
		}
	}
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
	forget := s.Forget
	if req.IfKnown {
		forget = s.forgetIfKnown
	}
	freed, err := forget(ref, time.Unix(0, req.At))
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
