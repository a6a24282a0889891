package files

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/blocks/store"
	"github.com/emerge-dev/emerge/rpc"
)

// States of a prefetch on a target, as status reports them.
const (
	StateUnknown = "unknown" // the node has not heard of the prefetch (yet)
	StateRunning = "running"
	StateDone    = "done"
	StateFailed  = "failed"
)

// job is this node's side of one prefetch, as a target. One goroutine runs
// it (run); status readers take mu.
type job struct {
	ref    blocks.Ref
	ctx    context.Context
	cancel context.CancelFunc
	end    chan struct{} // closed when run returns

	mu       sync.Mutex
	state    string
	stopErr  error // why it was stopped from outside (a delete)
	blocks   int   // positions of the object held
	total    int
	bytes    int64
	size     int64
	attempts int
	err      error
	started  time.Time
	finished time.Time
}

// maybeStart starts the job of ref when this node is one of its targets and
// no job runs (reset: nor has finished or failed).
func (p *prefetcher) maybeStart(ref blocks.Ref, reset bool) {
	in := p.intent(ref)
	if in == nil || !in.targets(p.s.net.Self()) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if old := p.jobs[ref]; old != nil && (!reset || !old.ended()) {
		return
	}
	j := &job{ref: ref, end: make(chan struct{}), state: StateRunning, started: p.s.cfg.Now()}
	j.ctx, j.cancel = context.WithCancel(p.s.ctx)
	if !p.s.startBG(func() { p.run(j, in) }) {
		j.cancel()
		return
	}
	p.jobs[ref] = j
}

// startBG is goBG that reports whether f was started.
func (s *Service) startBG(f func()) bool {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if s.bgDone {
		return false
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		f()
	}()
	return true
}

// failed reports whether the job of ref ended in failure.
func (p *prefetcher) failed(ref blocks.Ref) bool {
	p.mu.Lock()
	j := p.jobs[ref]
	p.mu.Unlock()
	if j == nil || !j.ended() {
		return false
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.state == StateFailed
}

func (j *job) ended() bool {
	select {
	case <-j.end:
		return true
	default:
		return false
	}
}

// stop cancels the job and waits for it to end.
func (j *job) stop(why error) {
	j.mu.Lock()
	j.stopErr = why
	j.mu.Unlock()
	j.cancel()
	<-j.end
}

// run makes attempts until the object is held, retrying with backoff; it
// gives up when no attempt has made progress for giveUp.
func (p *prefetcher) run(j *job, in *intent) {
	defer close(j.end)
	defer j.cancel()
	log := p.s.log.With().Str("ref", in.ref.Short()).Str("source", in.from).Logger()
	giveUp := 6 * p.s.cfg.LocateTimeout
	last := time.Now()
	backoff := 100 * time.Millisecond
	for {
		j.mu.Lock()
		j.attempts++
		j.mu.Unlock()
		progressed, err := p.attempt(j, in)
		if err == nil {
			j.finish(nil, p.s.cfg.Now())
			log.Info().Int("blocks", j.total).Msg("prefetch done")
			return
		}
		if progressed {
			last = time.Now()
		}
		j.mu.Lock()
		if j.stopErr != nil {
			err = j.stopErr
		}
		j.mu.Unlock()
		if j.ctx.Err() != nil || errors.Is(err, blocks.ErrDeleted) || time.Since(last)+backoff > giveUp {
			j.finish(err, p.s.cfg.Now())
			log.Warn().Err(err).Msg("prefetch failed")
			return
		}
		log.Debug().Err(err).Dur("retry_in", backoff).Msg("prefetch attempt failed")
		select {
		case <-j.ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// attempt fetches the manifest (from the source first), holds it, pulls
// the missing blocks and commits the object as owned: a prefetched copy is
// durable until the object is deleted, like a placement replica.
func (p *prefetcher) attempt(j *job, in *intent) (bool, error) {
	s := p.s
	if in.from != s.net.Self().ID {
		s.locs.add(blocks.ID(in.ref), in.from)
	}
	m, err := s.Manifest(j.ctx, in.ref)
	if err != nil {
		return false, err
	}
	p.awaitArrivals(j.ctx, m)
	if _, err := s.store.CommitHeld(in.ref, m, store.UseKept, blocks.Ref{}); err != nil {
		return false, err
	}
	sw, mv, err := newSwarm(s, j, in, m)
	if err != nil {
		return false, err
	}
	err = mv.Run(j.ctx)
	sw.announce()
	progressed := mv.Stats().Landed > 0
	if err != nil {
		return progressed, err
	}
	return true, s.store.Commit(in.ref, m, store.UseKept)
}

func (j *job) finish(err error, now time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.err, j.finished = err, now
	j.state = StateDone
	if err != nil {
		j.state = StateFailed
	}
}

// progress records the held positions and bytes of the object.
func (j *job) progress(blocks, total int, bytes, size int64) {
	j.mu.Lock()
	j.blocks, j.total, j.bytes, j.size = blocks, total, bytes, size
	j.mu.Unlock()
}

func (j *job) status(node string) rpc.PrefetchNode {
	j.mu.Lock()
	defer j.mu.Unlock()
	st := rpc.PrefetchNode{Node: node, State: j.state, Blocks: j.blocks, Total: j.total, Bytes: j.bytes,
		Size: j.size, Attempts: j.attempts, Started: j.started.UnixNano()}
	if j.err != nil {
		st.Error = j.err.Error()
	}
	if !j.finished.IsZero() {
		st.Finished = j.finished.UnixNano()
	}
	return st
}
