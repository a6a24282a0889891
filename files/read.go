package files

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/blocks/store"
	"github.com/emerge-dev/emerge/files/mover"
	"github.com/emerge-dev/emerge/internal/bufpool"
	"github.com/emerge-dev/emerge/registry"
	"github.com/emerge-dev/emerge/rpc"
)

// Info summarises an object as seen from this node.
type Info struct {
	Ref      blocks.Ref
	Manifest *blocks.Manifest
	Local    int // blocks of the object held by this node
}

// Manifest returns an object's manifest: from this node's store, or, when
// this node does not know the object, from a member that does (found by
// placement, then by a who-has). A manifest fetched from a peer is kept.
// An object deleted here is ErrDeleted without asking anyone.
func (s *Service) Manifest(ctx context.Context, ref blocks.Ref) (*blocks.Manifest, error) {
	m, _, err := s.store.Manifest(ref) // its errors name the ref
	if err == nil || !errors.Is(err, blocks.ErrNotFound) {
		return m, err
	}
	return s.remoteManifestOnce(ctx, ref) // negcache.go: repeated misses are cheap
}

// manifestGuess is how many placement owners of a ref are asked for its
// manifest before a who-has (puts store it at Place(ref, replicas)).
const manifestGuess = 3

func (s *Service) remoteManifest(ctx context.Context, ref blocks.Ref) (*blocks.Manifest, error) {
	self := s.net.Self().ID
	tried := map[string]bool{self: true}
	var guess []string
	for _, id := range s.locs.get(blocks.ID(ref)) {
		guess = append(guess, id)
	}
	for _, m := range registry.Place(ref, s.net.Live(), manifestGuess) {
		guess = append(guess, m.ID)
	}
	if m, err := s.manifestFrom(ctx, ref, guess, tried); err == nil || !errors.Is(err, blocks.ErrNotFound) {
		return m, err
	}
	found := s.whoHas(ctx, []blocks.ID{blocks.ID(ref)}, s.cfg.LocateTimeout, 1)
	s.log.Debug().Str("ref", ref.Short()).Strs("guessed", guess).Strs("found", found[blocks.ID(ref)]).
		Msg("manifest not at its placement owners; who-has")
	if m, err := s.manifestFrom(ctx, ref, found[blocks.ID(ref)], tried); err == nil || !errors.Is(err, blocks.ErrNotFound) {
		return m, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%w: object %s: no member holds it", blocks.ErrNotFound, ref.Short())
}

// manifestFrom asks the members at once and keeps the first valid record,
// so a dead or slow candidate costs nothing when another one answers. A
// member reporting the object deleted makes the answer ErrDeleted.
func (s *Service) manifestFrom(ctx context.Context, ref blocks.Ref, members []string, tried map[string]bool) (*blocks.Manifest, error) {
	type answer struct {
		id  string
		m   *blocks.Manifest
		err error
	}
	ctx, cancel := context.WithCancel(ctx)
	answers := make(chan answer, len(members))
	asked := 0
	defer func() { // the first good answer cancels the others; wait for them
		cancel()
		for ; asked > 0; asked-- {
			<-answers
		}
	}()
	for _, id := range members {
		if tried[id] {
			continue
		}
		tried[id] = true
		mem, ok := s.member(id)
		if !ok {
			continue
		}
		asked++
		go func() {
			m, err := s.fetchManifest(ctx, ref, mem)
			answers <- answer{id, m, err}
		}()
	}
	var deleted error
	for asked > 0 {
		a := <-answers
		asked--
		if errors.Is(a.err, blocks.ErrDeleted) {
			deleted = a.err
			continue
		}
		if a.err != nil {
			s.log.Debug().Err(a.err).Str("peer", a.id).Str("ref", ref.Short()).Msg("manifest not from this member")
			continue
		}
		if deleted != nil {
			break
		}
		s.locs.add(blocks.ID(ref), a.id)
		if _, err := s.store.CommitHeld(ref, a.m, store.UseCache, blocks.Ref{}); err != nil {
			return nil, err
		}
		return a.m, nil
	}
	if deleted != nil {
		return nil, deleted
	}
	return nil, blocks.ErrNotFound
}

func (s *Service) fetchManifest(ctx context.Context, ref blocks.Ref, mem registry.Member) (*blocks.Manifest, error) {
	ctx, cancel := context.WithTimeout(ctx, blockTimeout)
	defer cancel()
	msg, err := s.net.Call(ctx, mem.RPC, rpc.OpGetManifest, &rpc.RefReq{Ref: ref[:]}, nil)
	if err != nil {
		return nil, err
	}
	if len(msg.Data) != 1 {
		return nil, fmt.Errorf("%w: manifest reply with %d frames", rpc.ErrBadRequest, len(msg.Data))
	}
	m, got, err := blocks.UnmarshalRecord(msg.Data[0])
	if err != nil {
		return nil, err
	}
	if got != ref {
		return nil, fmt.Errorf("%w: %s sent the manifest of %s for %s", blocks.ErrHashMismatch, mem.ID, got.Short(), ref.Short())
	}
	return m, nil
}

// ReadBlock returns block i of the object into dst's storage when it fits.
// A block this node lacks is fetched from its owners first (together with
// the rest of the object, which streams in behind it).
func (s *Service) ReadBlock(ctx context.Context, ref blocks.Ref, m *blocks.Manifest, i int, dst []byte) ([]byte, error) {
	if i < 0 || i >= len(m.Blocks) {
		return nil, fmt.Errorf("%w: block %d of %d", blocks.ErrNotFound, i, len(m.Blocks))
	}
	id := m.Blocks[i]
	b, err := s.store.GetBlock(id, dst)
	if err == nil || !errors.Is(err, blocks.ErrNotFound) {
		return b, err
	}
	for {
		f, err := s.fetchFor(m, ref)
		if err != nil {
			return nil, err
		}
		f.advance(i)
		err = f.wait(ctx, id)
		if errors.Is(err, mover.ErrIdle) && ctx.Err() == nil {
			continue // the fetch ended as this reader arrived: start another
		}
		if err != nil {
			return nil, fmt.Errorf("block %d of %s: %w", i, ref.Short(), err)
		}
		return s.store.GetBlock(id, dst)
	}
}

// WriteTo copies the object to w in order and returns the bytes written.
func (s *Service) WriteTo(ctx context.Context, ref blocks.Ref, w io.Writer) (int64, error) {
	m, err := s.Manifest(ctx, ref)
	if err != nil {
		return 0, err
	}
	buf := s.pool.Get(m.BlockSize)
	defer s.pool.Put(buf)
	var n int64
	for i := range m.Blocks {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		b, err := s.ReadBlock(ctx, ref, m, i, buf)
		if err != nil {
			return n, err
		}
		k, err := w.Write(b)
		n += int64(k)
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Stat describes an object and how much of it this node holds.
func (s *Service) Stat(ctx context.Context, ref blocks.Ref) (*Info, error) {
	m, err := s.Manifest(ctx, ref)
	if err != nil {
		return nil, err
	}
	has, err := s.store.HasBlocks(m.Blocks)
	if err != nil {
		return nil, err
	}
	info := &Info{Ref: ref, Manifest: m}
	for _, h := range has {
		if h {
			info.Local++
		}
	}
	return info, nil
}

// List pages through the objects this node knows, in ref order after after.
func (s *Service) List(ctx context.Context, after blocks.Ref, limit int) ([]store.ObjectInfo, error) {
	return s.store.List(after, limit)
}

// Pool is the service's buffer pool, shared with the rpc handlers.
func (s *Service) Pool() *bufpool.Pool { return &s.pool }
