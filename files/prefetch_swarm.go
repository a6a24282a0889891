package files

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/blocks/store"
	"github.com/emerge-dev/emerge/pubsub"
	"github.com/emerge-dev/emerge/registry"
)

// seedWindow is the block requests a target keeps in flight to each seed
// (the source and the placement owners). It is smaller than the window to
// peers so that seeds send each block about once and targets take the
// rest from each other.
const seedWindow = 2

// haveBatch is how many landed blocks a target announces in one have
// message; haveEvery flushes a smaller batch.
const (
	haveBatch = 16
	haveEvery = 25 * time.Millisecond
)

// swarm pulls the missing blocks of one object for a prefetch job. One
// goroutine (run) owns the state; workers report over results.
//
// Order: the missing blocks in random order, so that targets starting
// together ask for different blocks. Owner: a peer that announced the block
// (have) and has room in its window, least loaded first; when peers hold
// it but are busy, the block waits for them; only a block no peer holds
// yet goes to a seed. So the source mostly sends blocks nobody has, once.
type swarm struct {
	s      *Service
	j      *job
	ref    blocks.Ref
	m      *blocks.Manifest
	ctx    context.Context
	cancel context.CancelFunc
	self   string

	order    []blocks.ID // missing ids, distinct, random order
	seeds    map[blocks.ID][]string
	sizes    map[blocks.ID]int64 // bytes of the positions an id fills
	count    map[blocks.ID]int   // positions an id fills
	busy     map[blocks.ID]bool
	stored   map[blocks.ID]bool
	inflight map[string]int
	owners   map[string]ownerCtx // per-owner request context, canceled when it leaves
	tried    map[blocks.ID]map[string]bool
	dead     map[string]bool
	results  chan result
	found    chan map[blocks.ID][]string
	locating bool
	have     []blocks.ID

	held, total int
	bytes       int64
}

func newSwarm(s *Service, j *job, in *intent, m *blocks.Manifest) (*swarm, error) {
	sw := &swarm{s: s, j: j, ref: in.ref, m: m, self: s.net.Self().ID, seeds: map[blocks.ID][]string{},
		sizes: map[blocks.ID]int64{}, count: map[blocks.ID]int{}, busy: map[blocks.ID]bool{},
		stored: map[blocks.ID]bool{}, inflight: map[string]int{}, owners: map[string]ownerCtx{}, tried: map[blocks.ID]map[string]bool{},
		dead: map[string]bool{}, results: make(chan result, 64), found: make(chan map[blocks.ID][]string, 1),
		total: len(m.Blocks)}
	sw.ctx, sw.cancel = context.WithCancel(j.ctx)
	has, err := s.store.HasBlocks(m.Blocks)
	if err != nil {
		return nil, err
	}
	live := s.net.Live()
	for i, id := range m.Blocks {
		size := int64(m.BlockLen(i))
		if has[i] {
			sw.held++
			sw.bytes += size
			continue
		}
		if sw.count[id] == 0 {
			sw.order = append(sw.order, id)
			sw.seeds[id] = sw.seedsOf(id, in.from, live)
		}
		sw.count[id]++
		sw.sizes[id] += size
	}
	rand.Shuffle(len(sw.order), func(a, b int) { sw.order[a], sw.order[b] = sw.order[b], sw.order[a] })
	j.progress(sw.held, sw.total, sw.bytes, m.Size)
	return sw, nil
}

// seedsOf lists the members that hold id by construction: the source, then
// the block's placement owners.
func (sw *swarm) seedsOf(id blocks.ID, source string, live []registry.Member) []string {
	var out []string
	if source != sw.self {
		out = append(out, source)
	}
	for _, m := range registry.Place(id, live, max(sw.m.Replicas, 1)) {
		if m.ID != sw.self && !slices.Contains(out, m.ID) {
			out = append(out, m.ID)
		}
	}
	return out
}

// run pulls until every block is stored. It fails when some block has no
// owner left to try and none is found for LocateTimeout. progressed says
// whether any block landed.
func (sw *swarm) run() (progressed bool, err error) {
	pending, workers := len(sw.order), 0
	tick := time.NewTicker(haveEvery)
	defer tick.Stop()
	defer func() {
		sw.cancel()
		for ; workers > 0; workers-- {
			sw.finish(<-sw.results)
		}
		sw.announce()
	}()
	deadline := time.Now().Add(sw.s.cfg.LocateTimeout)
	for pending > 0 {
		started, stuck := sw.schedule()
		workers += started
		if len(stuck) > 0 && !sw.locating {
			if time.Now().After(deadline) {
				return progressed, fmt.Errorf("%w: block %s of %s: no member holds it (looked for %s)",
					blocks.ErrNotFound, stuck[0].Short(), sw.ref.Short(), sw.s.cfg.LocateTimeout)
			}
			sw.locate(stuck, time.Until(deadline))
		}
		select {
		case <-sw.ctx.Done():
			return progressed, sw.ctx.Err()
		case r := <-sw.results:
			workers--
			if sw.finish(r) {
				pending--
				progressed = true
				deadline = time.Now().Add(sw.s.cfg.LocateTimeout)
			}
		case found := <-sw.found:
			sw.locating = false
			sw.merge(found)
		case <-tick.C:
			sw.announce()
			sw.dropDeparted()
		}
	}
	return progressed, nil
}

// schedule starts a request for every waiting block that has an owner with
// room; it returns how many it started and the blocks with no owner left.
func (sw *swarm) schedule() (int, []blocks.ID) {
	started := 0
	var stuck []blocks.ID
	for _, id := range sw.order {
		if sw.busy[id] || sw.stored[id] {
			continue
		}
		owner, none := sw.pick(id)
		if none {
			stuck = append(stuck, id)
		}
		if owner == "" {
			continue
		}
		sw.busy[id] = true
		sw.inflight[owner]++
		started++
		go sw.get(sw.ownerContext(owner), id, owner)
	}
	return started, stuck
}

// pick chooses where to ask for id (see swarm); none reports that no
// member is left to try.
func (sw *swarm) pick(id blocks.ID) (owner string, none bool) {
	seeds := sw.seeds[id]
	peers, load := 0, -1
	for _, h := range sw.s.locs.get(id) {
		if h == sw.self || sw.dead[h] || sw.tried[id][h] || slices.Contains(seeds, h) {
			continue
		}
		peers++
		if l := sw.inflight[h]; l < sw.s.cfg.FetchWindow && (load < 0 || l < load) {
			owner, load = h, l
		}
	}
	if owner != "" || peers > 0 {
		return owner, false
	}
	avail := 0
	for _, o := range seeds {
		if sw.dead[o] || sw.tried[id][o] {
			continue
		}
		avail++
		if l := sw.inflight[o]; l < seedWindow && (load < 0 || l < load) {
			owner, load = o, l
		}
	}
	return owner, avail == 0
}

func (sw *swarm) get(ctx context.Context, id blocks.ID, owner string) {
	err := sw.s.getBlockAs(ctx, sw.ref, id, owner, store.UseOwner)
	sw.results <- result{id: id, owner: owner, err: err}
}

// finish applies a worker's result; it reports whether the block is stored.
func (sw *swarm) finish(r result) bool {
	sw.busy[r.id] = false
	sw.inflight[r.owner]--
	if r.err == nil {
		sw.stored[r.id] = true
		sw.held += sw.count[r.id]
		sw.bytes += sw.sizes[r.id]
		sw.j.progress(sw.held, sw.total, sw.bytes, sw.m.Size)
		sw.have = append(sw.have, r.id)
		if len(sw.have) >= haveBatch {
			sw.announce()
		}
		return true
	}
	if sw.tried[r.id] == nil {
		sw.tried[r.id] = map[string]bool{}
	}
	sw.tried[r.id][r.owner] = true
	if sw.ctx.Err() == nil && !isMissing(r.err) {
		sw.dead[r.owner] = true
	}
	sw.s.log.Debug().Err(r.err).Str("ref", sw.ref.Short()).Str("block", r.id.Short()).Str("owner", r.owner).
		Msg("prefetch block request failed")
	return false
}

// announce publishes the blocks landed since the last have message.
func (sw *swarm) announce() {
	if len(sw.have) == 0 {
		return
	}
	m := pubsub.Message{Type: pubsub.TypeHave, From: sw.self, Ref: sw.ref, IDs: sw.have}
	for _, part := range pubsub.SplitIDs(m, pubsub.MaxIDs) {
		if err := sw.s.net.Publish(sw.s.ctx, part); err != nil {
			sw.s.log.Debug().Err(err).Msg("have broadcast")
		}
	}
	sw.have = nil
}

// locate asks the network for holders of stuck blocks in the background;
// answers land in the location cache. The service's Close waits for it (the
// job's own goroutine holds the wait group above zero while it is added).
func (sw *swarm) locate(ids []blocks.ID, wait time.Duration) {
	sw.locating = true
	sw.s.bg.Add(1)
	go func() {
		defer sw.s.bg.Done()
		found := sw.s.whoHas(sw.ctx, ids, wait, sw.m.Replicas)
		select {
		case sw.found <- found:
		case <-sw.ctx.Done():
		}
	}()
}

// merge gives members that answered a who-has another chance.
func (sw *swarm) merge(found map[blocks.ID][]string) {
	for id, owners := range found {
		for _, o := range owners {
			delete(sw.tried[id], o)
			delete(sw.dead, o)
		}
	}
}

// ownerCtx bounds the requests to one owner.
type ownerCtx struct {
	ctx    context.Context
	cancel context.CancelFunc
}

func (sw *swarm) ownerContext(owner string) context.Context {
	oc, ok := sw.owners[owner]
	if !ok {
		oc.ctx, oc.cancel = context.WithCancel(sw.ctx)
		sw.owners[owner] = oc
	}
	return oc.ctx
}

// dropDeparted cancels the requests in flight to owners that are no longer
// live (a crashed member would otherwise hold them until blockTimeout), so
// its blocks go to other holders at once.
func (sw *swarm) dropDeparted() {
	for owner, oc := range sw.owners {
		if sw.inflight[owner] > 0 && !sw.dead[owner] {
			if _, ok := sw.s.member(owner); !ok {
				sw.dead[owner] = true
				oc.cancel()
			}
		}
	}
}
