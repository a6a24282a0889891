package files

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

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
//
// An object deleted here may have been put again through another node
// since: the ref's placement owners (every put sends them the manifest) are
// asked, and a manifest created after the delete is adopted (its commit
// clears the tombstone). So a tombstone never hides a newer put; an object
// still deleted costs one round trip to answer ErrDeleted.
func (s *Service) Manifest(ctx context.Context, ref blocks.Ref) (*blocks.Manifest, error) {
	m, _, err := s.store.Manifest(ref) // its errors name the ref
	switch {
	case err == nil:
		return m, nil
	case errors.Is(err, blocks.ErrDeleted):
		if m, nerr := s.manifestFrom(ctx, ref, s.manifestGuess(ref), map[string]bool{s.net.Self().ID: true}); nerr == nil {
			return m, nil
		}
		return nil, err
	case errors.Is(err, blocks.ErrNotFound):
		return s.remoteManifestOnce(ctx, ref) // negcache.go: repeated misses are cheap
	}
	return nil, err
}

// manifestGuess lists the members likely to hold ref's manifest: those
// known to, then its placement owners.
func (s *Service) manifestGuess(ref blocks.Ref) []string {
	guess := s.locs.get(blocks.ID(ref))
	for _, m := range registry.Place(ref, s.net.Live(), manifestGuess) {
		guess = append(guess, m.ID)
	}
	return guess
}

// manifestGuess is how many placement owners of a ref are asked for its
// manifest before a who-has (puts store it at Place(ref, replicas)).
const manifestGuess = 3

func (s *Service) remoteManifest(ctx context.Context, ref blocks.Ref) (*blocks.Manifest, error) {
	tried := map[string]bool{s.net.Self().ID: true}
	guess := s.manifestGuess(ref)
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

// manifestFrom asks the members at once. The newest event wins: a valid
// record created after every tombstone reported is adopted (kept here as a
// cache copy; the local commit refuses it if this node's own tombstone is
// newer), otherwise a reported tombstone makes the answer ErrDeleted. Once
// a valid record is in, the others get manifestGrace to report a newer
// delete, so a dead or slow member costs little.
func (s *Service) manifestFrom(ctx context.Context, ref blocks.Ref, members []string, tried map[string]bool) (*blocks.Manifest, error) {
	type answer struct {
		id  string
		m   *blocks.Manifest
		err error
	}
	ctx, cancel := context.WithCancel(ctx)
	answers := make(chan answer, len(members))
	asked := 0
	defer func() { // a decision cancels the others; wait for them
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
	var (
		best, bestFrom = (*blocks.Manifest)(nil), ""
		tomb           time.Time
		grace          <-chan time.Time
	)
collect:
	for asked > 0 {
		var a answer
		select {
		case a = <-answers:
			asked--
		case <-grace:
			break collect // the deferred drain receives the rest
		}
		var d deletedAt
		switch {
		case errors.As(a.err, &d):
			tomb = later(tomb, d.at)
		case a.err != nil && a.id != "":
			s.log.Debug().Err(a.err).Str("peer", a.id).Str("ref", ref.Short()).Msg("manifest not from this member")
		case a.m != nil && (best == nil || a.m.Created.After(best.Created)):
			best, bestFrom = a.m, a.id
			if grace == nil {
				grace = time.After(manifestGrace)
			}
		}
	}
	if best == nil || !best.Created.After(tomb) {
		if !tomb.IsZero() {
			return nil, fmt.Errorf("%w: %s (deleted at %s)", blocks.ErrDeleted, ref.Short(), tomb.UTC().Format(time.RFC3339))
		}
		return nil, blocks.ErrNotFound
	}
	s.locs.add(blocks.ID(ref), bestFrom)
	if _, err := s.store.CommitHeld(ref, best, store.UseCache, blocks.Ref{}); err != nil {
		return nil, err
	}
	return best, nil
}

// manifestGrace is how long a manifest lookup waits, after a valid record
// came in, for the other members' answers (one may report a newer delete).
const manifestGrace = 250 * time.Millisecond

// deletedAt is a member's answer that it holds a tombstone of the ref.
type deletedAt struct{ at time.Time }

func (d deletedAt) Error() string        { return "deleted at " + d.at.UTC().Format(time.RFC3339) }
func (d deletedAt) Is(target error) bool { return target == blocks.ErrDeleted }

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func (s *Service) fetchManifest(ctx context.Context, ref blocks.Ref, mem registry.Member) (*blocks.Manifest, error) {
	ctx, cancel := context.WithTimeout(ctx, blockTimeout)
	defer cancel()
	msg, err := s.net.Call(ctx, mem.RPC, rpc.OpGetManifest, &rpc.RefReq{Ref: ref[:]}, nil)
	if err != nil {
		return nil, err
	}
	var rep rpc.GetManifestRep
	if len(msg.Data) == 0 && msg.Decode(&rep) == nil && rep.Tomb != 0 {
		return nil, deletedAt{at: time.Unix(0, rep.Tomb)}
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

// ReadBlock returns block i of the object, verified, into dst's storage
// when it fits. A block this node lacks is fetched from its owners first
// (together with the rest of the object, which streams in behind it); the
// bytes the fetch received and verified are then returned as they are
// (not in dst), instead of being read back from the store. The caller must
// not modify the returned bytes.
func (s *Service) ReadBlock(ctx context.Context, ref blocks.Ref, m *blocks.Manifest, i int, dst []byte) ([]byte, error) {
	if i < 0 || i >= len(m.Blocks) {
		return nil, fmt.Errorf("%w: block %d of %d", blocks.ErrNotFound, i, len(m.Blocks))
	}
	id := m.Blocks[i]
	if f := s.runningFetch(ref); f != nil {
		if b := f.take(i, id); b != nil {
			f.advance(i)
			return b, nil
		}
	}
	b, err := s.store.GetBlock(id, dst)
	if err == nil || !errors.Is(err, blocks.ErrNotFound) {
		return b, err
	}
	for {
		f, err := s.fetchFor(m, ref, i)
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
		if b := f.take(i, id); b != nil {
			return b, nil
		}
		b, err := s.store.GetBlock(id, dst)
		if s.cfg.CacheOff && errors.Is(err, blocks.ErrNotFound) {
			return s.fetchOne(ctx, m, i) // behind the fetch, which keeps no copy
		}
		return b, err
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
