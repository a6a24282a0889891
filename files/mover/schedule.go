package mover

import (
	"context"
	"slices"
	"time"

	"github.com/emerge-dev/emerge/blocks"
)

// schedule starts transfers for the blocks that are ready, in order, while
// they have candidates with room. It returns the blocks with no candidate
// left and nothing in flight, and how long the rate limit asks to wait
// (0: no wait).
func (m *Mover) schedule(ctx context.Context) (stuck []*block, rateWait time.Duration) {
	m.alive = nil
	m.advanceHead()
	for _, b := range m.order[m.head:] {
		if b.finished {
			continue
		}
		if !m.cfg.Policy.Ready(b.item.ID) {
			break
		}
		for b.landed+b.inflight < b.item.Copies {
			if m.cfg.MaxInflight > 0 && m.inflight >= m.cfg.MaxInflight {
				return stuck, 0
			}
			peer, ok, none := m.pick(b)
			if none && b.inflight == 0 {
				stuck = append(stuck, b)
			}
			if !ok {
				break
			}
			if d := m.cfg.Rate.take(b.item.Size); d > 0 {
				return stuck, d
			}
			m.start(ctx, b, peer)
		}
	}
	return stuck, 0
}

// advanceHead skips the finished blocks at the front of the order, so a
// get that lands blocks in order walks only the blocks ahead of it.
func (m *Mover) advanceHead() {
	for m.head < len(m.order) && m.order[m.head].finished {
		m.head++
	}
}

// pick chooses where the next copy of b goes: the least loaded usable
// candidate with room in the best tier that has a usable candidate. ok is
// false when there is none with room; none reports that no candidate at
// all is usable.
func (m *Mover) pick(b *block) (peer string, ok, none bool) {
	cands := m.candidates(b)
	for i := 0; i < len(cands); {
		tier := cands[i].Tier
		j := i
		for j < len(cands) && cands[j].Tier == tier {
			j++
		}
		// Alive candidates first; those not alive only when no alive one
		// is usable, as a tier of their own.
		for _, alive := range []bool{true, false} {
			if peer, ok, usable := m.pickIn(b, cands[i:j], m.cfg.Policy.Window(tier), alive); usable {
				return peer, ok, false
			}
		}
		i = j
	}
	return "", false, true
}

// pickIn picks the least loaded usable candidate with room among cands
// whose liveness is alive; usable reports whether any is usable at all.
func (m *Mover) pickIn(b *block, cands []Candidate, window int, alive bool) (peer string, ok, usable bool) {
	load := -1
	for _, c := range cands {
		if !m.usable(b, c.Peer) || m.isAlive(c.Peer) != alive {
			continue
		}
		usable = true
		if l := m.load(c.Peer); l < window && (load < 0 || l < load) {
			peer, load = c.Peer, l
		}
	}
	return peer, load >= 0, usable
}

// candidates returns the policy's candidates for b plus the holders a
// who-has found (first tier), ordered by tier, stable.
func (m *Mover) candidates(b *block) []Candidate {
	cands := m.cfg.Policy.Candidates(b.item.ID)
	for _, f := range b.found {
		if !slices.ContainsFunc(cands, func(c Candidate) bool { return c.Peer == f }) {
			cands = append(cands, Candidate{Peer: f})
		}
	}
	slices.SortStableFunc(cands, func(a, b Candidate) int { return a.Tier - b.Tier })
	return cands
}

// usable reports whether a copy of b may go to peer.
func (m *Mover) usable(b *block, peer string) bool {
	if b.taken[peer] || b.tried[peer] {
		return false
	}
	p := m.peers[peer]
	return p == nil || !p.dead
}

// isAlive asks Alive at most once per peer per scheduling pass.
func (m *Mover) isAlive(peer string) bool {
	if m.cfg.Alive == nil {
		return true
	}
	if m.alive == nil {
		m.alive = map[string]bool{}
	}
	a, ok := m.alive[peer]
	if !ok {
		a = m.cfg.Alive(peer)
		m.alive[peer] = a
	}
	return a
}

func (m *Mover) load(peer string) int {
	if p := m.peers[peer]; p != nil {
		return p.inflight
	}
	return 0
}

// start runs one transfer of b with peer on its own goroutine.
func (m *Mover) start(ctx context.Context, b *block, name string) {
	p := m.peers[name]
	if p == nil {
		p = &peer{}
		p.ctx, p.cancel = context.WithCancel(ctx)
		m.peers[name] = p
	}
	if p.inflight == 0 {
		p.quiet = time.Now()
	}
	p.inflight++
	b.inflight++
	b.taken[name] = true
	m.inflight++
	m.stats.Started++
	m.stats.MaxInflight = max(m.stats.MaxInflight, m.inflight)
	id, tctx := b.item.ID, p.ctx
	go func() {
		cctx, cancel := context.WithTimeout(tctx, m.cfg.Timeout)
		err := m.cfg.Transfer(cctx, name, id)
		cancel()
		m.results <- result{b: b, peer: name, err: err}
	}()
}

// finish applies a transfer's outcome.
func (m *Mover) finish(ctx context.Context, r result) {
	b, p := r.b, m.peers[r.peer]
	p.inflight--
	p.quiet = time.Now()
	b.inflight--
	m.inflight--
	if r.err == nil {
		b.landed++
		m.last, m.active = time.Now(), time.Now()
		m.stats.Landed++
		m.stats.Bytes += b.item.Size
		m.cfg.Policy.Landed(b.item.ID, r.peer)
		if b.landed >= b.item.Copies && !b.finished {
			b.finished = true
			m.pending--
		}
		return
	}
	m.stats.Failed++
	delete(b.taken, r.peer)
	b.tried[r.peer] = true
	if ctx.Err() == nil && !p.dead && m.cfg.PeerFault(r.err) {
		m.kill(p)
	}
	m.cfg.Logger.Debug().Err(r.err).Str("block", b.item.ID.Short()).Str("peer", r.peer).
		Msg("transfer failed; moving to another candidate")
}

// idsOf lists the ids of bs.
func idsOf(bs []*block) []blocks.ID {
	out := make([]blocks.ID, len(bs))
	for i, b := range bs {
		out[i] = b.item.ID
	}
	return out
}
