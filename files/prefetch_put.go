package files

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/registry"
	"github.com/emerge-dev/emerge/rpc"
)

// Put to a swarm, the side of the node that takes the put. A put with
// prefetch targets tells each live target at Begin (put_swarm) and keeps a
// landing log: the blocks stored here whose replica pushes are done, in
// the order they finished, each with a member that took a replica. Targets
// poll it (put_landed) and pull the blocks from those holders and from
// each other while the put goes on (prefetch_landing.go). Replica pushes
// go to targets first, so each pushed copy is also a target's copy: the
// source sends about one copy of the object in all. The log says when the
// put committed (and as which ref) or failed; it is dropped landingKeep
// after that.

// landingKeep is how long a finished put's log answers put_landed.
const landingKeep = time.Minute

// landingLog is one put's landed blocks, for its prefetch targets.
type landingLog struct {
	mu     sync.Mutex
	ids    []blocks.ID
	holder []string // a member that took a replica of ids[i], "" if none
	state  uint8
	ref    blocks.Ref
	ended  time.Time
}

// openLanding starts the landing log of an upload with prefetch targets
// and tells the live targets. It reports whether the upload has targets.
func (p *prefetcher) openLanding(u *Upload) bool {
	if len(u.opts.PrefetchGroups)+len(u.opts.PrefetchNodes) == 0 {
		return false
	}
	in := &intent{groups: u.opts.PrefetchGroups, nodes: u.opts.PrefetchNodes}
	self := p.s.net.Self().ID
	u.landing = &landingLog{}
	u.prefer = map[string]bool{}
	var targets []registry.Member
	for _, m := range p.s.net.Live() {
		if m.ID != self && in.targets(m) {
			u.prefer[m.ID] = true
			targets = append(targets, m)
		}
	}
	p.mu.Lock()
	p.logs[u.pending] = u.landing
	p.mu.Unlock()
	req := &rpc.PutSwarmReq{Pending: u.pending[:], Source: self}
	for _, m := range targets {
		p.s.goBG(func() {
			ctx, cancel := context.WithTimeout(p.s.ctx, statusTimeout)
			defer cancel()
			if _, err := p.s.net.Call(ctx, m.RPC, rpc.OpPutSwarm, req, nil); err != nil {
				p.s.log.Debug().Err(err).Str("peer", m.ID).Msg("put_swarm: the target joins at commit")
			}
		})
	}
	return true
}

// land appends a block whose copies are made (nil-safe).
func (l *landingLog) land(id blocks.ID, holders []string) {
	if l == nil {
		return
	}
	h := ""
	if len(holders) > 0 {
		h = holders[0]
	}
	l.mu.Lock()
	l.ids = append(l.ids, id)
	l.holder = append(l.holder, h)
	l.mu.Unlock()
}

// end records the put's outcome (nil-safe; the first outcome stays).
func (l *landingLog) end(state uint8, ref blocks.Ref, now time.Time) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state == rpc.LandingOpen {
		l.state, l.ref, l.ended = state, ref, now
	}
}

// since answers put_landed: the blocks from position from on, at most
// rpc.MaxIDs of them and rpc.MaxStrings distinct holders.
func (l *landingLog) since(from int) *rpc.PutLandedRep {
	l.mu.Lock()
	defer l.mu.Unlock()
	rep := &rpc.PutLandedRep{State: l.state}
	if l.state == rpc.LandingCommitted {
		rep.Ref = l.ref[:]
	}
	index := map[string]int{}
	var ids []blocks.ID
	for i := from; i < len(l.ids) && len(ids) < rpc.MaxIDs; i++ {
		h := l.holder[i]
		k, ok := index[h]
		if h != "" && !ok {
			if len(rep.Members) == rpc.MaxStrings {
				break
			}
			k = len(rep.Members)
			index[h] = k
			rep.Members = append(rep.Members, h)
		}
		if h == "" {
			k = rpc.NoHolder
		}
		ids = append(ids, l.ids[i])
		rep.Holder = append(rep.Holder, byte(k))
	}
	if len(ids) < len(l.ids)-from {
		rep.State = rpc.LandingOpen // the rest comes with the next ask
	}
	rep.IDs = rpc.PackIDs(ids)
	return rep
}

// Landed answers put_landed for the put under pending.
func (s *Service) Landed(pending blocks.Ref, from int) (*rpc.PutLandedRep, error) {
	if from < 0 || from >= blocks.MaxBlocks {
		return nil, fmt.Errorf("%w: put_landed from %d", rpc.ErrBadRequest, from)
	}
	s.pf.mu.Lock()
	l := s.pf.logs[pending]
	s.pf.mu.Unlock()
	if l == nil {
		return nil, fmt.Errorf("%w: no put landing under that key", blocks.ErrNotFound)
	}
	return l.since(from), nil
}

// dropEndedLogs forgets the logs of puts that ended landingKeep ago.
func (p *prefetcher) dropEndedLogs(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, l := range p.logs {
		l.mu.Lock()
		old := l.state != rpc.LandingOpen && now.Sub(l.ended) > landingKeep
		l.mu.Unlock()
		if old {
			delete(p.logs, k)
		}
	}
}

// startPrefetch records the prefetch a committed put asked for; it reports
// whether it did (else the client starts it).
func (u *Upload) startPrefetch(ctx context.Context, ref blocks.Ref) bool {
	if u.landing == nil {
		return false
	}
	u.landing.end(rpc.LandingCommitted, ref, u.svc.cfg.Now())
	if err := u.svc.Prefetch(ctx, ref, u.opts.PrefetchGroups, u.opts.PrefetchNodes); err != nil {
		u.svc.log.Warn().Err(err).Str("ref", ref.Short()).Msg("prefetch of a put")
		return false
	}
	return true
}
