package mover

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/rs/zerolog"
)

// Errors Run returns besides ctx's.
var (
	// ErrStuck: some block has no candidate left and none was found within
	// NoProgress. It also matches blocks.ErrNotFound.
	ErrStuck = errors.New("no member holds it")
	// ErrIdle: nothing was ready to move for Config.Idle.
	ErrIdle = errors.New("mover idle")
)

// Config configures a Mover. Zero values mean defaults.
type Config struct {
	// Policy decides order, candidates and windows. Required.
	Policy Policy
	// Transfer moves one copy of block id with peer: a pull that stores
	// the block, or a push. It returns nil once the copy landed. Required.
	Transfer func(ctx context.Context, peer string, id blocks.ID) error
	// Alive reports whether peer is a member in good standing. Transfers in
	// flight to a peer that is not, and that has completed none for Stall,
	// are canceled and moved to another candidate; a peer that is not alive
	// gets new transfers only when no alive candidate of its tier is
	// usable. Default: every peer is alive.
	Alive func(peer string) bool
	// Stall is how long a peer that is not alive may go without completing
	// a transfer before its transfers are moved on (default 1 s). A member
	// the registry suspects only because this node heard it late (a busy
	// node hears heartbeats late) keeps completing transfers and keeps
	// them; a frozen one completes none.
	Stall time.Duration
	// Locate looks for holders of blocks no candidate is left for (a
	// who-has), waiting at most wait. Nil: such blocks are stuck at once.
	Locate func(ctx context.Context, ids []blocks.ID, wait time.Duration) map[blocks.ID][]string
	// PeerFault reports the transfer errors after which this mover stops
	// asking the peer (unreachable, timed out, failing). Other errors (the
	// peer lacks the block, sent bad bytes, refused it) only rule the peer
	// out for that block. Default: DefaultPeerFault.
	PeerFault func(err error) bool
	// NoProgress: Run fails with ErrStuck when blocks are stuck and no copy
	// has landed for this long. Default 10 s.
	NoProgress time.Duration
	// Timeout bounds one transfer. Default 15 s.
	Timeout time.Duration
	// MaxInflight caps transfers in flight over all peers; 0: only the
	// policy's per-peer windows.
	MaxInflight int
	// Rate, when set, limits the bytes of the transfers started (shared by
	// the movers that use the same Limiter).
	Rate *Limiter
	// Check is the period of the liveness check of peers with transfers in
	// flight, and of Ticker policies' Tick. Default 50 ms.
	Check time.Duration
	// Idle, when set, ends Run with ErrIdle once nothing has been in flight
	// and nothing ready for that long (a get whose reader went away).
	Idle time.Duration
	// SkipStuck gives up stuck blocks (telling an Abandoner) and moves the
	// others, instead of failing Run. For pushes: a copy with nowhere to go
	// must not hold back the rest.
	SkipStuck bool
	// Logger receives debug lines about failovers. Default: silent.
	Logger zerolog.Logger
	// Open makes Run take more items (Add) until Seal (open.go).
	Open bool
}

// DefaultPeerFault treats every error as the peer's fault except those that
// say the peer answered: it lacks the block, sent bytes that do not match,
// the object was deleted there, or it has no room.
func DefaultPeerFault(err error) bool {
	return !errors.Is(err, blocks.ErrNotFound) && !errors.Is(err, blocks.ErrHashMismatch) &&
		!errors.Is(err, blocks.ErrDeleted) && !errors.Is(err, blocks.ErrNoSpace)
}

func (c *Config) fill() error {
	if c.Policy == nil || c.Transfer == nil {
		return errors.New("mover: Policy and Transfer are required")
	}
	if c.PeerFault == nil {
		c.PeerFault = DefaultPeerFault
	}
	if c.NoProgress <= 0 {
		c.NoProgress = 10 * time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 15 * time.Second
	}
	if c.Check <= 0 {
		c.Check = 50 * time.Millisecond
	}
	if c.Stall <= 0 {
		c.Stall = time.Second
	}
	return nil
}

// Item is one block to move: Copies copies (default 1) to or from distinct
// peers. Size feeds the rate limit.
type Item struct {
	ID     blocks.ID
	Size   int64
	Copies int
}

// Stats counts what a mover did. Read it after Run returned.
type Stats struct {
	Started, Landed, Failed, Abandoned int
	Bytes                              int64 // of the copies that landed
	Located                            int   // who-has lookups run
	MaxInflight                        int   // most transfers in flight at once
}

// Mover moves a set of blocks. Make one with New, run it once with Run.
type Mover struct {
	cfg   Config
	order []*block // items in policy order
	head  int      // order[:head] are all finished
	byID  map[blocks.ID]*block
	wake  chan struct{}

	addMu  sync.Mutex // Add and Seal (open.go)
	added  []Item
	sealed bool
	addC   chan struct{}

	// owned by Run
	ctx      context.Context // Run's, canceled when it returns
	peers    map[string]*peer
	results  chan result
	found    chan map[blocks.ID][]string
	locating bool
	pending  int // blocks not finished
	inflight int
	last     time.Time       // last copy landed (the no-progress deadline)
	active   time.Time       // last landed copy or Wake (the idle deadline)
	alive    map[string]bool // Alive answers of this scheduling pass
	stats    Stats
}

type block struct {
	item     Item
	landed   int
	inflight int
	finished bool
	taken    map[string]bool // peers a copy is in flight with or landed at
	tried    map[string]bool // peers that failed for this block
	found    []string        // holders a who-has found
}

type peer struct {
	inflight int
	quiet    time.Time // since when no transfer with the peer completed (while some were in flight)
	dead     bool
	ctx      context.Context
	cancel   context.CancelFunc
}

type result struct {
	b    *block
	peer string
	err  error
}

// New validates cfg and prepares to move items, in their order (the
// policy's priority). Repeated ids keep their first occurrence.
func New(cfg Config, items []Item) (*Mover, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	m := &Mover{cfg: cfg, byID: make(map[blocks.ID]*block, len(items)), wake: make(chan struct{}, 1), addC: make(chan struct{}, 1),
		peers: map[string]*peer{}, found: make(chan map[blocks.ID][]string, 1)}
	for _, it := range items {
		if m.byID[it.ID] != nil {
			continue
		}
		it.Copies = max(it.Copies, 1)
		b := &block{item: it, taken: map[string]bool{}, tried: map[string]bool{}}
		m.byID[it.ID] = b
		m.order = append(m.order, b)
	}
	m.pending = len(m.order)
	m.results = make(chan result, 64)
	return m, nil
}

// Wake makes Run look at Ready again (a reader moved on). Safe from any
// goroutine.
func (m *Mover) Wake() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Stats returns the counters; call it after Run returned.
func (m *Mover) Stats() Stats { return m.stats }

// Run moves every item and returns nil when all landed (or were given up
// under SkipStuck), ctx's error when it ends, ErrStuck or ErrIdle. Every
// goroutine it started has ended when it returns.
func (m *Mover) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	m.ctx = ctx
	defer m.drain(cancel)
	m.last, m.active = time.Now(), time.Now()
	tick := time.NewTicker(m.cfg.Check)
	defer tick.Stop()
	var rateC <-chan time.Time
	for m.pending > 0 || m.waiting() {
		m.takeAdded()
		stuck, rateWait := m.schedule(ctx)
		if err := m.onStuck(ctx, stuck); err != nil {
			return err
		}
		if m.pending == 0 && !m.waiting() {
			break
		}
		if rateWait > 0 && rateC == nil {
			rateC = time.After(rateWait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case r := <-m.results:
			m.finish(ctx, r)
		case f := <-m.found:
			m.locating = false
			m.merge(f)
		case <-m.wake:
			m.active = time.Now()
		case <-m.addC:
		case <-rateC:
			rateC = nil
		case <-tick.C:
			if err := m.check(); err != nil {
				return err
			}
		}
	}
	return nil
}

// drain cancels what is in flight and waits for every transfer and lookup.
func (m *Mover) drain(cancel context.CancelFunc) {
	cancel()
	for ; m.inflight > 0; m.inflight-- {
		r := <-m.results
		r.b.inflight--
	}
	if m.locating {
		<-m.found
		m.locating = false
	}
	for _, p := range m.peers {
		p.cancel()
	}
}

// onStuck deals with blocks that have no candidate left: look them up,
// give them up (SkipStuck), or fail once the no-progress deadline passed.
func (m *Mover) onStuck(ctx context.Context, stuck []*block) error {
	if len(stuck) == 0 || m.locating {
		return nil
	}
	late := time.Since(m.last) > m.cfg.NoProgress
	if m.cfg.Locate == nil || late {
		if m.cfg.SkipStuck {
			m.abandon(stuck)
			return nil
		}
		return fmt.Errorf("%w: %w: block %s (waited %s for a holder)", ErrStuck, blocks.ErrNotFound,
			stuck[0].item.ID.Short(), m.cfg.NoProgress)
	}
	want, wait := idsOf(stuck), m.cfg.NoProgress-time.Since(m.last)
	m.locating = true
	m.stats.Located++
	go func() { m.found <- m.cfg.Locate(ctx, want, wait) }()
	return nil
}

func (m *Mover) abandon(stuck []*block) {
	ab, _ := m.cfg.Policy.(Abandoner)
	for _, b := range stuck {
		b.finished = true
		m.pending--
		m.stats.Abandoned++
		if ab != nil {
			ab.Abandoned(b.item.ID, b.landed, fmt.Errorf("%w: no candidate left for block %s", ErrStuck, b.item.ID.Short()))
		}
	}
}

// merge makes the holders a who-has found candidates again, peers given
// up included: they answered.
func (m *Mover) merge(found map[blocks.ID][]string) {
	for id, holders := range found {
		b := m.byID[id]
		if b == nil || b.finished {
			continue
		}
		for _, h := range holders {
			if !contains(b.found, h) {
				b.found = append(b.found, h)
			}
			delete(b.tried, h)
			if p := m.peers[h]; p != nil && p.dead {
				p.dead = false
				p.ctx, p.cancel = context.WithCancel(m.ctx)
			}
		}
	}
}

// check cancels the transfers of peers that stopped being alive, ticks the
// policy and applies the idle deadline.
func (m *Mover) check() error {
	m.alive = nil
	for name, p := range m.peers {
		if p.inflight > 0 && !p.dead && time.Since(p.quiet) > m.cfg.Stall && !m.isAlive(name) {
			m.cfg.Logger.Debug().Str("peer", name).Int("inflight", p.inflight).Msg("peer not alive: moving its blocks on")
			m.kill(p)
		}
	}
	if t, ok := m.cfg.Policy.(Ticker); ok {
		t.Tick()
	}
	if m.cfg.Idle > 0 && m.inflight == 0 && !m.locating && time.Since(m.active) > m.cfg.Idle {
		return ErrIdle
	}
	return nil
}

func (m *Mover) kill(p *peer) {
	p.dead = true
	p.cancel()
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
