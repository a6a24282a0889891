package files

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/blocks/store"
	"github.com/emerge-dev/emerge/files/mover"
	"github.com/emerge-dev/emerge/registry"
	"github.com/emerge-dev/emerge/rpc"
)

// Self-healing: every node looks, in passes, at the blocks it holds as
// owner copies; a census asks every live member how it holds them; a block
// with fewer live owner copies than its object's target is copied again
// by exactly one node, its highest-ranked live holder, to the next live
// members by rendezvous rank (the mover with the repair policy, fewest
// copies first, capped in streams and bytes per second); a block above its
// target is dropped by its lowest-ranked holders. docs/repair.md explains
// the rules.

// healer runs the repair passes of one node. One goroutine (loop) runs
// them; triggers only move the time of the next one.
type healer struct {
	s    *Service
	cfg  RepairConfig
	rate *mover.Limiter
	kick chan struct{}

	mu   sync.Mutex
	next time.Time          // when the next pass runs
	lost map[blocks.ID]bool // copies quarantined here since the last pass
	// prev is what the previous census found, the holders of each block;
	// only the loop goroutine uses it.
	prev map[blocks.ID][]string
	// recent are blocks another node's repair copied here lately: their
	// repair stays with that node (it is still making the other copies
	// this node's census would find missing) for one interval.
	recent      map[blocks.ID]time.Time
	last        passReport    // what the last pass found
	pol         *repairPolicy // the repair under way, if any (for its queue)
	maxInflight int           // most repair pushes in flight at once, since start

	repaired, repairedBytes, trimmed atomic.Int64
}

// passReport is what a repair pass found.
type passReport struct {
	at                        time.Time
	objectsUnder, under, over int
	deferred                  string
}

// repairStall is the mover's Stall for repair pushes.
const repairStall = 10 * time.Second

// settleAfterJoin is how soon after a member joins a pass runs: the
// newcomer may receive copies of blocks under target.
const settleAfterJoin = 2 * time.Second

func newHealer(s *Service) *healer {
	h := &healer{s: s, cfg: s.cfg.Repair, rate: mover.NewLimiter(s.cfg.Repair.Rate, 0), kick: make(chan struct{}, 1),
		lost: map[blocks.ID]bool{}, recent: map[blocks.ID]time.Time{}}
	// The first pass comes once the node has met its members and caught up
	// with their deletes.
	h.next = s.cfg.Now().Add(4 * s.cfg.PrefetchAnnounce)
	return h
}

// soon asks for a pass within d.
func (h *healer) soon(d time.Duration) {
	at := h.s.cfg.Now().Add(d)
	h.mu.Lock()
	if at.Before(h.next) {
		h.next = at
	}
	h.mu.Unlock()
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// memberEvent schedules passes for membership changes: a newcomer may take
// copies now; the copies of a member gone are made again once it has been
// gone for the repair delay.
func (h *healer) memberEvent(e registry.Event) {
	switch e.Kind {
	case registry.EventJoin, registry.EventRejoin:
		h.soon(settleAfterJoin)
	case registry.EventDead, registry.EventLeave:
		h.soon(h.cfg.Delay + time.Second)
	}
}

// quarantined records a copy this node lost; the next pass tells the
// block's holders.
func (h *healer) quarantined(id blocks.ID) {
	h.mu.Lock()
	h.lost[id] = true
	h.mu.Unlock()
	h.soon(time.Second)
}

// received notes copies another node's repair made here.
func (h *healer) received(ids []blocks.ID) {
	now := h.s.cfg.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, id := range ids {
		h.recent[id] = now
	}
}

// leftToOthers reports blocks another node's repair is working on, and
// forgets the old entries.
func (h *healer) leftToOthers() map[blocks.ID]bool {
	now := h.s.cfg.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[blocks.ID]bool{}
	for id, at := range h.recent {
		if now.Sub(at) < h.cfg.Interval {
			out[id] = true
		} else {
			delete(h.recent, id)
		}
	}
	return out
}

// loop runs passes at h.next until ctx ends.
func (h *healer) loop(ctx context.Context) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		h.mu.Lock()
		wait := h.next.Sub(h.s.cfg.Now())
		h.mu.Unlock()
		t.Reset(max(wait, 0))
		select {
		case <-ctx.Done():
			return
		case <-h.kick:
			continue
		case <-t.C:
		}
		h.mu.Lock()
		if h.s.cfg.Now().Before(h.next) {
			h.mu.Unlock()
			continue
		}
		jitter := time.Duration(rand.Int64N(int64(h.cfg.Interval)/4 + 1))
		h.next = h.s.cfg.Now().Add(h.cfg.Interval - h.cfg.Interval/8 + jitter)
		h.mu.Unlock()
		if !h.cfg.Off {
			h.pass(ctx)
		}
	}
}

// owned is a block this node holds as an owner copy, with the object it is
// kept for and the largest target of the objects using it.
type owned struct {
	ref    blocks.Ref
	target int
	size   int64
	kept   bool // a copy kept on purpose (a prefetch): never trimmed
}

// pass looks at every block held here as owner, repairs those under target
// this node is to repair, and drops copies above it.
func (h *healer) pass(ctx context.Context) {
	rep := passReport{at: h.s.cfg.Now()}
	defer func() {
		h.mu.Lock()
		h.last = rep
		h.mu.Unlock()
	}()
	presumed, deferred := h.absent()
	if deferred != "" {
		rep.deferred = deferred
		h.s.log.Warn().Str("why", deferred).Msg("repair waits")
		return
	}
	blocksHere, err := h.ownedBlocks()
	if err != nil {
		h.s.log.Warn().Err(err).Msg("repair pass: listing owned blocks")
		return
	}
	h.mu.Lock()
	lost := h.lost
	h.lost = map[blocks.ID]bool{}
	h.mu.Unlock()
	ids := make([]blocks.ID, 0, len(blocksHere)+len(lost))
	for id := range blocksHere {
		ids = append(ids, id)
	}
	for id := range lost {
		if _, ok := blocksHere[id]; !ok {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return
	}
	c := h.s.takeCensus(ctx, ids)
	if presumed > 0 {
		rep.deferred = "members gone less than the repair delay: their copies are presumed"
	}
	pol, items, trims, underRefs := h.plan(blocksHere, c, presumed, &rep)
	h.prev = c.owners
	rep.objectsUnder = len(underRefs)
	if rep.under+rep.over > 0 {
		h.s.log.Info().Int("blocks", len(blocksHere)).Int("under", rep.under).Int("over", rep.over).
			Int("to_repair", len(items)).Int("to_trim", len(trims)).Int("presumed", presumed).
			Int("silent", len(c.silent)).Msg("repair pass")
	}
	h.hint(ctx, lost, c)
	h.trim(trims)
	if len(items) > 0 {
		h.repair(ctx, pol, items)
	}
}

// absent returns how many members are gone (dead, or left) for less
// than the repair delay — each may still hold copies and come back — or
// why repair must wait altogether: more than MaxDeadShare of the members
// dead or suspect at once is a partition, not a loss. (A suspect member is
// still asked in the census; one gone for longer than the delay is not
// presumed to hold anything.)
func (h *healer) absent() (presumed int, deferred string) {
	now := h.s.cfg.Now()
	members := h.s.net.Members()
	gone := 0
	for _, st := range members {
		switch st.State {
		case registry.StateAlive:
			continue
		case registry.StateLeft: // it said so: not a partition
		default:
			gone++
		}
		if st.State.Live() {
			continue // suspect: asked in the census like the alive ones
		}
		if now.Sub(st.Since) < h.cfg.Delay {
			presumed++
		}
	}
	if len(members) > 0 && float64(gone) > h.cfg.MaxDeadShare*float64(len(members)) {
		return presumed, "more than half of the members are gone at once: a partition, not a loss"
	}
	return presumed, ""
}

// ownedBlocks lists the blocks held here as owner copies.
func (h *healer) ownedBlocks() (map[blocks.ID]owned, error) {
	out := map[blocks.ID]owned{}
	var after blocks.Ref
	for {
		page, err := h.s.store.List(after, store.MaxList)
		if err != nil {
			return nil, err
		}
		for _, o := range page {
			if !o.Use.Durable() {
				continue
			}
			m, _, err := h.s.store.Manifest(o.Ref)
			if err != nil {
				continue // deleted meanwhile
			}
			uses, err := h.s.store.Holds(m.Blocks)
			if err != nil {
				return nil, err
			}
			for i, id := range m.Blocks {
				if !uses[i].Durable() {
					continue
				}
				ob, seen := out[id]
				if !seen {
					ob = owned{ref: o.Ref, size: int64(m.BlockLen(i))}
				}
				ob.kept = ob.kept || uses[i] == store.UseKept
				ob.target = max(ob.target, m.Replicas, 1)
				out[id] = ob
			}
		}
		if len(page) < store.MaxList {
			return out, nil
		}
		after = page[len(page)-1].Ref
	}
}

// byRank sorts members by their rendezvous score for id, best first.
func byRank(id blocks.ID, members []string) []string {
	out := slices.Clone(members)
	slices.SortFunc(out, func(a, b string) int {
		sa, sb := registry.Score(id, a), registry.Score(id, b)
		switch {
		case sa > sb:
			return -1
		case sa < sb:
			return 1
		}
		return 0
	})
	return out
}

// plan decides, for every block held here, whether this node repairs it
// (it is the highest-ranked live holder of a block under target), drops
// its copy (it ranks below the target among the holders of a block above
// it), or leaves it. Copies that may exist unseen count as present for
// repair and forbid any trim: those of members gone less than the delay
// (presumed), and those of members that did not answer the census when
// they rank where placement or repair would have put a copy (the top
// target+2 of the block's ranking).
func (h *healer) plan(here map[blocks.ID]owned, c *census, presumed int, rep *passReport) (*repairPolicy, []mover.Item,
	[]blocks.ID, map[blocks.Ref]bool) {
	self := h.s.net.Self().ID
	others := h.leftToOthers()
	pol := newRepairPolicy(h, here)
	var items []mover.Item
	var trims []blocks.ID
	under := map[blocks.Ref]bool{}
	everyone := append(slices.Clone(c.asked), c.silent...)
	for id, ob := range here {
		holders := byRank(id, c.owners[id])
		n := len(holders)
		unknown := presumed + silentHolders(id, everyone, c.silent, h.prev[id], ob.target+2)
		switch {
		case n < ob.target:
			rep.under++
			under[ob.ref] = true
			deficit := ob.target - n - unknown
			if deficit > 0 && len(holders) > 0 && holders[0] == self && !others[id] {
				pol.plan(id, c, holders)
				items = append(items, mover.Item{ID: id, Size: ob.size, Copies: deficit})
			}
		case n > ob.target:
			rep.over++
			// Kept copies (prefetches) count toward the target but are
			// never trimmed, nor make others trimmed: only placement and
			// repair copies beyond the target go.
			placed := slices.DeleteFunc(slices.Clone(holders), func(m string) bool { return containsStr(c.kept[id], m) })
			if unknown == 0 && len(c.silent) == 0 && !ob.kept && len(placed) > ob.target &&
				slices.Index(placed, self) >= ob.target {
				trims = append(trims, id)
			}
		}
	}
	// Last copies first.
	slices.SortStableFunc(items, func(a, b mover.Item) int {
		return len(c.owners[a.ID]) - len(c.owners[b.ID])
	})
	return pol, items, trims, under
}

// silentHolders counts the silent members that may hold id: those among
// the top k of its ranking over members (where placement and repair put
// copies), and those the previous census found holding it (the put's entry
// node, whose copy is not ranked).
func silentHolders(id blocks.ID, members, silent, before []string, k int) int {
	if len(silent) == 0 {
		return 0
	}
	top := byRank(id, members)[:min(k, len(members))]
	n := 0
	for _, m := range silent {
		if containsStr(top, m) || containsStr(before, m) {
			n++
		}
	}
	return n
}

// hint tells the highest-ranked holder of each block this node lost a copy
// of to look at it now, rather than at its next scheduled pass.
func (h *healer) hint(ctx context.Context, lost map[blocks.ID]bool, c *census) {
	to := map[string][]blocks.ID{}
	self := h.s.net.Self().ID
	for id := range lost {
		if holders := byRank(id, c.owners[id]); len(holders) > 0 && holders[0] != self {
			to[holders[0]] = append(to[holders[0]], id)
		}
	}
	for peer, ids := range to {
		mem, ok := h.s.member(peer)
		if !ok {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, censusTimeout)
		_, err := h.s.net.Call(cctx, mem.RPC, rpc.OpRepairHint, &rpc.RepairHintReq{IDs: rpc.PackIDs(ids)}, nil)
		cancel()
		if err != nil {
			h.s.log.Debug().Err(err).Str("peer", peer).Msg("repair hint not delivered")
		}
	}
}

// trim drops this node's copies of blocks above their target.
func (h *healer) trim(ids []blocks.ID) {
	for _, id := range ids {
		if err := h.s.store.DropCopy(id); err != nil {
			h.s.log.Warn().Err(err).Str("block", id.Short()).Msg("trim of a copy above target")
			continue
		}
		h.trimmed.Add(1)
	}
	if len(ids) > 0 {
		h.s.log.Info().Int("blocks", len(ids)).Msg("dropped copies above their target")
	}
}

// repair pushes the copies this node is to make.
func (h *healer) repair(ctx context.Context, pol *repairPolicy, items []mover.Item) {
	// Repair is not in a hurry: a push moves on from a member that is not
	// alive only after repairStall without completing one, as a push given
	// up that landed all the same is a copy too many.
	mv, err := mover.New(mover.Config{Policy: pol, Transfer: pol.push, Alive: h.s.net.Alive, Timeout: pushTimeout,
		Stall: repairStall, MaxInflight: h.cfg.Streams, Rate: h.rate, SkipStuck: true, Logger: h.s.log}, items)
	if err != nil {
		h.s.log.Warn().Err(err).Msg("repair")
		return
	}
	h.mu.Lock()
	h.pol = pol
	h.mu.Unlock()
	h.s.log.Info().Int("blocks", len(items)).Msg("repairing blocks under their target")
	err = mv.Run(ctx)
	st := mv.Stats()
	h.mu.Lock()
	h.pol = nil
	h.maxInflight = max(h.maxInflight, st.MaxInflight)
	h.mu.Unlock()
	h.s.log.Info().Err(err).Int("copies", st.Landed).Int64("bytes", st.Bytes).Int("given_up", st.Abandoned).
		Msg("repair done")
}

// serveRepairHint: another node lost copies of blocks this node holds;
// look at them now.
func (s *Service) serveRepairHint(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.RepairHintReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	ids, err := req.IDs.Unpack()
	if err != nil {
		return nil, err
	}
	if req.Suspect {
		s.checkCopies(ids)
	}
	s.heal.soon(time.Second)
	return nil, nil
}
