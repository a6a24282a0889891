package files

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/blocks/store"
	"github.com/emerge-dev/emerge/files/mover"
	"github.com/emerge-dev/emerge/rpc"
)

// Put to a swarm, the side of a prefetch target (prefetch_put.go has the
// source's). Told by put_swarm that a put for it is landing on a source,
// the target runs an arrival: it asks the source which blocks landed
// (put_landed), every landingPoll while nothing new came, and pulls each
// new block (in random order within what it learned at once) from the
// member that took its replica, from the targets that announced it (have)
// and, when none is usable, from the source, with the prefetch windows: an
// open mover that takes the blocks as they are learned. Pulled blocks are
// held under the put's pending key, like a replica push. When the put
// commits, the arrival ties them to the ref (CommitHeld moves the pending
// uses) and the prefetch job the commit starts finds them held; when it
// fails (or the source stops answering), the arrival drops them.

// landingPoll is how long a target waits before asking again when the
// source had nothing new.
const landingPoll = 20 * time.Millisecond

// maxArrivals caps the puts a node pulls at once as a target.
const maxArrivals = 64

// landingGiveUp is how many put_landed calls in a row may fail before the
// target gives the put up (the source is gone).
const landingGiveUp = 50

// arrival is this node's pull of one put that is landing on source.
type arrival struct {
	s       *Service
	pending blocks.Ref
	source  string
	self    string
	done    chan struct{} // closed when run returns

	mu    sync.Mutex // known is read by prefetch jobs
	known map[blocks.ID]bool

	// owned by the mover's goroutine
	pulled []blocks.ID
	have   []blocks.ID
}

// StartArrival starts pulling the put landing on source under pending
// (put_swarm). A repeat is ignored.
func (s *Service) StartArrival(pending blocks.Ref, source string) error {
	if source == s.net.Self().ID {
		return fmt.Errorf("%w: put_swarm from this node", rpc.ErrBadRequest)
	}
	if _, ok := s.member(source); !ok {
		return fmt.Errorf("%w: put_swarm source %s is not live", rpc.ErrUnreachable, source)
	}
	p := s.pf
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.arrivals[pending] != nil {
		return nil
	}
	if len(p.arrivals) >= maxArrivals {
		return fmt.Errorf("%w: %d puts landing here already", rpc.ErrUnavailable, maxArrivals)
	}
	a := &arrival{s: s, pending: pending, source: source, self: s.net.Self().ID, done: make(chan struct{}),
		known: map[blocks.ID]bool{}}
	if !s.startBG(func() { a.run() }) {
		return ErrClosed
	}
	p.arrivals[pending] = a
	return nil
}

// run pulls the blocks as they land until the put ends, then keeps them
// for the ref or drops them.
func (a *arrival) run() {
	s := a.s
	defer func() {
		s.pf.mu.Lock()
		delete(s.pf.arrivals, a.pending)
		s.pf.mu.Unlock()
		close(a.done)
	}()
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	cfg := s.moverConfig(a, s.pullAs(a.pending, store.UseKept), 2, 0)
	cfg.Open, cfg.Check = true, haveEvery
	mv, err := mover.New(cfg, nil)
	if err != nil {
		return
	}
	var ref blocks.Ref
	var perr error
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		ref, perr = a.poll(ctx, mv)
		if perr != nil {
			cancel()
		}
	}()
	err = mv.Run(ctx)
	a.announce()
	cancel()
	<-polled
	log := s.log.With().Str("pending", a.pending.Short()).Str("source", a.source).Logger()
	if perr == nil && err == nil {
		err = a.adopt(ref)
	}
	if perr != nil || err != nil {
		log.Debug().Err(errors.Join(perr, err)).Int("pulled", len(a.pulled)).Msg("put to swarm: dropping what was pulled")
		if _, err := s.store.DropUses(a.pending, a.pulled); err != nil {
			log.Debug().Err(err).Msg("put to swarm: drop")
		}
		return
	}
	log.Debug().Str("ref", ref.Short()).Int("pulled", len(a.pulled)).Msg("put to swarm: landed")
}

// errLandingAborted: the put failed, was aborted or its source is gone.
var errLandingAborted = errors.New("put aborted at its source")

// poll asks the source for landed blocks and hands the new ones to mv
// until the put commits (its ref) or fails.
func (a *arrival) poll(ctx context.Context, mv *mover.Mover) (blocks.Ref, error) {
	from, fails := 0, 0
	for {
		rep, err := a.ask(ctx, from)
		switch {
		case errors.Is(err, blocks.ErrNotFound):
			return blocks.Ref{}, errLandingAborted
		case err != nil:
			if fails++; fails >= landingGiveUp || ctx.Err() != nil {
				return blocks.Ref{}, fmt.Errorf("%w: %w", errLandingAborted, err)
			}
		default:
			fails = 0
		}
		var n int
		if err == nil {
			if n, err = a.learn(mv, rep); err != nil {
				return blocks.Ref{}, err
			}
			from += n
			switch rep.State {
			case rpc.LandingAborted:
				return blocks.Ref{}, errLandingAborted
			case rpc.LandingCommitted:
				mv.Seal()
				return rpc.ParseRef(rep.Ref)
			}
		}
		if n > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return blocks.Ref{}, ctx.Err()
		case <-time.After(landingPoll):
		}
	}
}

func (a *arrival) ask(ctx context.Context, from int) (*rpc.PutLandedRep, error) {
	mem, ok := a.s.member(a.source)
	if !ok {
		return nil, fmt.Errorf("%w: source %s is not live", rpc.ErrUnreachable, a.source)
	}
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	msg, err := a.s.net.Call(ctx, mem.RPC, rpc.OpPutLanded, &rpc.PutLandedReq{Pending: a.pending[:], From: from}, nil)
	if err != nil {
		return nil, err
	}
	var rep rpc.PutLandedRep
	if err := msg.Decode(&rep); err != nil {
		return nil, err
	}
	return &rep, nil
}

// learn records the holders of the blocks in rep and adds those not held
// here to mv, shuffled. It returns how many positions rep covered.
func (a *arrival) learn(mv *mover.Mover, rep *rpc.PutLandedRep) (int, error) {
	ids, err := rep.IDs.Unpack()
	if err != nil {
		return 0, err
	}
	if len(rep.Holder) != len(ids) {
		return 0, fmt.Errorf("%w: put_landed: %d holders for %d ids", rpc.ErrBadRequest, len(rep.Holder), len(ids))
	}
	var fresh []blocks.ID
	a.mu.Lock()
	for i, id := range ids {
		if k := int(rep.Holder[i]); k < len(rep.Members) && rep.Members[k] != a.self {
			a.s.locs.add(id, rep.Members[k])
		}
		if !a.known[id] {
			a.known[id] = true
			fresh = append(fresh, id)
		}
	}
	a.mu.Unlock()
	has, err := a.s.store.HasBlocks(fresh)
	if err != nil {
		return 0, err
	}
	var items []mover.Item
	for i, id := range fresh {
		if !has[i] { // a replica pushed here is held already
			items = append(items, mover.Item{ID: id, Size: int64(a.s.cfg.BlockSize)})
		}
	}
	rand.Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })
	mv.Add(items)
	return len(ids), nil
}

// adopt ties the pulled blocks to the committed ref: the manifest from
// the source, held as a prefetched copy, the pending uses moved to it.
func (a *arrival) adopt(ref blocks.Ref) error {
	a.s.locs.add(blocks.ID(ref), a.source)
	ctx, cancel := context.WithTimeout(a.s.ctx, a.s.cfg.LocateTimeout)
	defer cancel()
	m, err := a.s.Manifest(ctx, ref)
	if err != nil {
		return err
	}
	_, err = a.s.store.CommitHeld(ref, m, store.UseKept, a.pending)
	return err
}

// knowsAny reports whether the arrival learned any of ids.
func (a *arrival) knowsAny(ids []blocks.ID) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.ContainsFunc(ids, func(id blocks.ID) bool { return a.known[id] })
}

// awaitArrivals waits for the arrivals that are pulling blocks of m (the
// put of this object still landing here), so that the prefetch job does
// not pull them a second time.
func (p *prefetcher) awaitArrivals(ctx context.Context, m *blocks.Manifest) {
	p.mu.Lock()
	var wait []*arrival
	for _, a := range p.arrivals {
		if a.knowsAny(m.Blocks) {
			wait = append(wait, a)
		}
	}
	p.mu.Unlock()
	for _, a := range wait {
		select {
		case <-a.done:
		case <-ctx.Done():
			return
		}
	}
}

// The mover policy of an arrival: the holders first (the replica's, the
// targets that announced the block), the source last with the seed window.

func (a *arrival) Candidates(id blocks.ID) []mover.Candidate {
	var out []mover.Candidate
	for _, h := range a.s.locs.get(id) {
		if h != a.self && h != a.source {
			out = append(out, mover.Candidate{Peer: h, Tier: tierPeer})
		}
	}
	return append(out, mover.Candidate{Peer: a.source, Tier: tierSeed})
}

// arrivalWindow is the pulls a target keeps in flight to each holder while
// a put lands. The put's replica pushes share each target's incoming link
// with these pulls, and the put is the swarm's critical path: a small window
// (still several holders at once) leaves the pushes their share of the link.
const arrivalWindow = 2

func (a *arrival) Window(tier int) int {
	if tier == tierSeed {
		return seedWindow
	}
	return arrivalWindow
}

func (a *arrival) Ready(blocks.ID) bool { return true }

func (a *arrival) Landed(id blocks.ID, _ string) {
	a.pulled = append(a.pulled, id)
	a.have = append(a.have, id)
	if len(a.have) >= haveBatch {
		a.announce()
	}
}

// Tick flushes the blocks landed since the last have message.
func (a *arrival) Tick() { a.announce() }

func (a *arrival) announce() {
	a.s.publishHave(a.pending, a.have)
	a.have = nil
}

func (s *Service) servePutSwarm(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.PutSwarmReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	pending, err := rpc.ParseRef(req.Pending)
	if err != nil {
		return nil, err
	}
	return nil, s.StartArrival(pending, req.Source)
}

func (s *Service) servePutLanded(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.PutLandedReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	pending, err := rpc.ParseRef(req.Pending)
	if err != nil {
		return nil, err
	}
	rep, err := s.Landed(pending, req.From)
	if err != nil {
		return nil, err
	}
	return &rpc.Reply{Body: rep}, nil
}
