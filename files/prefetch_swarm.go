package files

import (
	"math/rand/v2"
	"slices"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/blocks/store"
	"github.com/emerge-dev/emerge/files/mover"
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

// Candidate tiers of a prefetch: members that announced a block come
// before the seeds that hold it by construction.
const (
	tierPeer = 0
	tierSeed = 1
)

// swarm is the prefetch policy of the mover for one attempt of a job.
//
// Order: the missing blocks in random order, so that targets starting
// together ask for different blocks. Owner: a peer that announced the block
// (have) and has room in its window, least loaded first; when peers hold
// it but are busy, the block waits for them; only a block no peer holds
// yet goes to a seed. So the source mostly sends blocks nobody has, once.
type swarm struct {
	s     *Service
	j     *job
	ref   blocks.Ref
	m     *blocks.Manifest
	self  string
	seeds map[blocks.ID][]string
	sizes map[blocks.ID]int64 // bytes of the positions an id fills
	count map[blocks.ID]int   // positions an id fills
	have  []blocks.ID         // landed, not announced yet

	held, total int
	bytes       int64
}

// newSwarm prepares the mover of one attempt: the missing blocks, shuffled.
func newSwarm(s *Service, j *job, in *intent, m *blocks.Manifest) (*swarm, *mover.Mover, error) {
	sw := &swarm{s: s, j: j, ref: in.ref, m: m, self: s.net.Self().ID, seeds: map[blocks.ID][]string{},
		sizes: map[blocks.ID]int64{}, count: map[blocks.ID]int{}, total: len(m.Blocks)}
	has, err := s.store.HasBlocks(m.Blocks)
	if err != nil {
		return nil, nil, err
	}
	live := s.net.Live()
	var order []blocks.ID
	for i, id := range m.Blocks {
		size := int64(m.BlockLen(i))
		if has[i] {
			sw.held++
			sw.bytes += size
			continue
		}
		if sw.count[id] == 0 {
			order = append(order, id)
			sw.seeds[id] = sw.seedsOf(id, in.from, live)
		}
		sw.count[id]++
		sw.sizes[id] += size
	}
	rand.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
	items := make([]mover.Item, len(order))
	for i, id := range order {
		items[i] = mover.Item{ID: id, Size: sw.sizes[id] / int64(sw.count[id])}
	}
	j.progress(sw.held, sw.total, sw.bytes, m.Size)
	cfg := s.moverConfig(sw, s.pullAs(in.ref, store.UseKept), m.Replicas, 0)
	cfg.Check = haveEvery
	mv, err := mover.New(cfg, items)
	return sw, mv, err
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

func (sw *swarm) Candidates(id blocks.ID) []mover.Candidate {
	seeds := sw.seeds[id]
	var out []mover.Candidate
	for _, h := range sw.s.locs.get(id) {
		if h != sw.self && !slices.Contains(seeds, h) {
			out = append(out, mover.Candidate{Peer: h, Tier: tierPeer})
		}
	}
	for _, o := range seeds {
		out = append(out, mover.Candidate{Peer: o, Tier: tierSeed})
	}
	return out
}

func (sw *swarm) Window(tier int) int {
	if tier == tierSeed {
		return seedWindow
	}
	return sw.s.cfg.FetchWindow
}

func (sw *swarm) Ready(blocks.ID) bool { return true }

func (sw *swarm) Landed(id blocks.ID, _ string) {
	sw.held += sw.count[id]
	sw.bytes += sw.sizes[id]
	sw.j.progress(sw.held, sw.total, sw.bytes, sw.m.Size)
	sw.have = append(sw.have, id)
	if len(sw.have) >= haveBatch {
		sw.announce()
	}
}

// Tick flushes the blocks landed since the last have message.
func (sw *swarm) Tick() { sw.announce() }

// announce publishes the blocks landed since the last have message.
func (sw *swarm) announce() {
	sw.s.publishHave(sw.ref, sw.have)
	sw.have = nil
}

// publishHave tells the members that this node holds ids (of ref, or of
// the put landing under that pending key).
func (s *Service) publishHave(ref blocks.Ref, ids []blocks.ID) {
	if len(ids) == 0 {
		return
	}
	m := pubsub.Message{Type: pubsub.TypeHave, From: s.net.Self().ID, Ref: ref, IDs: ids}
	for _, part := range pubsub.SplitIDs(m, pubsub.MaxIDs) {
		if err := s.net.Publish(s.ctx, part); err != nil {
			s.log.Debug().Err(err).Msg("have broadcast")
		}
	}
}
