package files

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/pubsub"
	"github.com/emerge-dev/emerge/registry"
	"github.com/emerge-dev/emerge/rpc"
)

// Prefetch spreads an object to every member of some groups (and to named
// nodes) ahead of any get. The node that holds the object records an
// intent {ref, groups, nodes}, keeps it in its store and broadcasts it; every
// node that hears an intent keeps it too, so that a node joining later (or
// coming back) learns it from whichever member it meets first. A target
// pulls the object's blocks from every node that has them and announces
// each batch it lands with a have message, so targets serve each other and
// the source sends the object about once. See docs/architecture.md.

// intentsKey is where a node keeps the intents it knows.
const intentsKey = "prefetch_intents"

// announceFor is how long the source keeps re-announcing an intent on the
// bus; later, nodes learn it by the catch-up pull when they join or return.
const announceFor = 10 * time.Minute

// intent is one prefetch: spread ref to groups and nodes.
type intent struct {
	ref    blocks.Ref
	from   string // the node that started it (holds the object)
	groups []string
	nodes  []string
	at     time.Time
}

// targets reports whether member m should hold the object.
func (in *intent) targets(m registry.Member) bool {
	if slices.Contains(in.nodes, m.ID) {
		return true
	}
	for _, g := range in.groups {
		if m.InGroup(g) {
			return true
		}
	}
	return false
}

// prefetcher keeps intents and this node's jobs as a target.
type prefetcher struct {
	s      *Service
	served atomic.Int64 // block bytes served to peers

	mu       sync.Mutex
	intents  map[blocks.Ref]*intent
	jobs     map[blocks.Ref]*job
	logs     map[blocks.Ref]*landingLog // puts landing here for prefetch targets, by pending key
	arrivals map[blocks.Ref]*arrival    // puts this node pulls as a target while they land, by pending key
}

func newPrefetcher(s *Service) *prefetcher {
	p := &prefetcher{s: s, intents: map[blocks.Ref]*intent{}, jobs: map[blocks.Ref]*job{},
		logs: map[blocks.Ref]*landingLog{}, arrivals: map[blocks.Ref]*arrival{}}
	p.load()
	return p
}

// Served is the block bytes this node has served to peers (get_blocks)
// since it started.
func (s *Service) Served() int64 { return s.pf.served.Load() }

// Prefetch starts spreading ref, which must be known here, to every member
// of groups and to nodes. It returns once the intent is recorded and
// announced; the transfer runs in the background.
func (s *Service) Prefetch(ctx context.Context, ref blocks.Ref, groups, nodes []string) error {
	if err := checkTargets(groups, nodes); err != nil {
		return err
	}
	if _, err := s.Manifest(ctx, ref); err != nil {
		return err
	}
	in := &intent{ref: ref, from: s.net.Self().ID, groups: normalize(groups), nodes: normalize(nodes), at: s.cfg.Now()}
	s.pf.add(in, true)
	s.pf.announce(ctx, in)
	return nil
}

// checkTargets validates the groups and nodes of a prefetch.
func checkTargets(groups, nodes []string) error {
	if len(groups)+len(nodes) == 0 {
		return fmt.Errorf("%w: prefetch: no group or node named", rpc.ErrBadRequest)
	}
	if len(groups) > pubsub.MaxGroups || len(nodes) > pubsub.MaxNodes {
		return fmt.Errorf("%w: prefetch: at most %d groups and %d nodes", rpc.ErrTooLarge, pubsub.MaxGroups, pubsub.MaxNodes)
	}
	for _, g := range append(slices.Clone(groups), nodes...) {
		if err := registry.ValidateGroup(g); err != nil {
			return fmt.Errorf("%w: %w", rpc.ErrBadRequest, err)
		}
	}
	return nil
}

func normalize(xs []string) []string {
	if len(xs) == 0 {
		return nil
	}
	out := slices.Clone(xs)
	slices.Sort(out)
	return slices.Compact(out)
}

// add records an intent (a newer one for the same ref replaces it) and
// starts the job when this node is a target. reset restarts a finished or
// failed job (a new prefetch of the same ref).
func (p *prefetcher) add(in *intent, reset bool) {
	if at, ok, err := p.s.store.Tombstone(in.ref); err != nil || (ok && !in.at.After(at)) {
		return // deleted objects are not spread; a prefetch after the delete (a new put) is
	}
	p.mu.Lock()
	old := p.intents[in.ref]
	changed := old == nil || in.at.After(old.at)
	if changed {
		p.intents[in.ref] = in
		p.trimLocked()
	}
	p.mu.Unlock()
	if changed {
		p.save()
	}
	p.maybeStart(in.ref, reset)
}

// trimLocked keeps at most rpc.MaxPrefetchIntents intents, dropping the oldest.
func (p *prefetcher) trimLocked() {
	for len(p.intents) > rpc.MaxPrefetchIntents {
		var oldest *intent
		for _, in := range p.intents {
			if oldest == nil || in.at.Before(oldest.at) {
				oldest = in
			}
		}
		delete(p.intents, oldest.ref)
	}
}

// announce broadcasts an intent. The bus may lose it: the source repeats it
// (tick) and nodes pull intents when they meet.
func (p *prefetcher) announce(ctx context.Context, in *intent) {
	m := pubsub.Message{Type: pubsub.TypePrefetch, From: in.from, Ref: in.ref, Groups: in.groups, Nodes: in.nodes,
		At: in.at}
	if err := p.s.net.Publish(ctx, m); err != nil {
		p.s.log.Debug().Err(err).Str("ref", in.ref.Short()).Msg("prefetch announcement")
	}
}

// HandlePrefetch records an intent heard on the bus.
// A repeat of a known intent only makes sure its job runs: a job that
// failed starts again, so a target that gave up retries while the source
// keeps announcing (and when `prefetch start` is run again).
func (s *Service) HandlePrefetch(m pubsub.Message) {
	at := m.At // when the source recorded it: a prefetch of a new put after a delete is newer than the tombstone
	if at.IsZero() {
		at = s.cfg.Now()
	}
	in := &intent{ref: m.Ref, from: m.From, groups: normalize(m.Groups), nodes: normalize(m.Nodes), at: at}
	if old := s.pf.intent(m.Ref); old != nil && old.from == in.from && slices.Equal(old.groups, in.groups) &&
		slices.Equal(old.nodes, in.nodes) {
		s.pf.maybeStart(m.Ref, s.pf.failed(m.Ref))
		return
	}
	s.pf.add(in, false)
}

// HandleHave records that a member holds blocks (of a prefetch under way):
// the next block requests may go to it.
func (s *Service) HandleHave(m pubsub.Message) {
	if m.From == s.net.Self().ID {
		return
	}
	for _, id := range m.IDs {
		s.locs.add(id, m.From)
	}
}

// GroupsChanged starts the prefetches that target this node after it joined
// a group: those it knows, and those its members know.
func (s *Service) GroupsChanged() {
	s.pf.resume()
	for _, m := range s.net.Live() {
		if m.ID != s.net.Self().ID {
			s.goBG(func() { s.pullIntents(s.ctx, m) })
		}
	}
}

// resume starts a job for every known intent that targets this node and has
// none yet.
func (p *prefetcher) resume() {
	p.mu.Lock()
	refs := make([]blocks.Ref, 0, len(p.intents))
	for ref := range p.intents {
		refs = append(refs, ref)
	}
	p.mu.Unlock()
	for _, ref := range refs {
		p.maybeStart(ref, false)
	}
}

// tick re-announces this node's recent intents and resumes jobs.
func (p *prefetcher) tick() {
	self := p.s.net.Self().ID
	now := p.s.cfg.Now()
	p.mu.Lock()
	var mine []*intent
	for _, in := range p.intents {
		if in.from == self && now.Sub(in.at) < announceFor {
			mine = append(mine, in)
		}
	}
	p.mu.Unlock()
	for _, in := range mine {
		p.announce(p.s.ctx, in)
	}
	p.dropEndedLogs(now)
	p.resume()
}

// forget drops ref's intent and stops its job: the object was deleted.
func (p *prefetcher) forget(ref blocks.Ref) {
	p.mu.Lock()
	_, had := p.intents[ref]
	delete(p.intents, ref)
	j := p.jobs[ref]
	p.mu.Unlock()
	if j != nil {
		j.stop(blocks.ErrDeleted)
	}
	if had {
		p.save()
	}
}

func (p *prefetcher) intent(ref blocks.Ref) *intent {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.intents[ref]
}
