package files

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/blocks/store"
	"github.com/emerge-dev/emerge/registry"
	"github.com/emerge-dev/emerge/rpc"
)

// blockTimeout bounds one block request to an owner. A dead owner is
// usually noticed sooner: its connection drops and the call fails at once.
const blockTimeout = 15 * time.Second

// fetch brings the missing blocks of one object into the local store,
// pulling from every known owner at once. One goroutine (run) owns the
// scheduling state; workers report back over a channel. Readers wait on a
// block's done channel, so a get streams while the fetch goes on.
type fetch struct {
	svc    *Service
	ref    blocks.Ref
	m      *blocks.Manifest
	ctx    context.Context
	cancel context.CancelFunc

	// shared with readers
	mu   sync.Mutex
	done map[blocks.ID]chan struct{} // closed when the block is stored (or the fetch failed)
	err  error                       // set when the fetch failed
	end  chan struct{}               // closed when run returns

	// owned by run
	order    []blocks.ID // missing blocks, in object order, distinct
	owners   map[blocks.ID][]string
	tried    map[blocks.ID]map[string]bool
	dead     map[string]bool
	inflight map[string]int
	busy     map[blocks.ID]bool
	results  chan result
	locating bool
	found    chan map[blocks.ID][]string
}

type result struct {
	id    blocks.ID
	owner string
	err   error
}

// fetchFor returns the running fetch of ref, starting one if needed.
func (s *Service) fetchFor(m *blocks.Manifest, ref blocks.Ref) (*fetch, error) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if f := s.fetches[ref]; f != nil {
		return f, nil
	}
	if s.bgDone {
		return nil, ErrClosed
	}
	f, err := s.newFetch(ref, m)
	if err != nil {
		return nil, err
	}
	s.fetches[ref] = f
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		f.run()
		s.fmu.Lock()
		delete(s.fetches, ref)
		s.fmu.Unlock()
	}()
	return f, nil
}

func (s *Service) newFetch(ref blocks.Ref, m *blocks.Manifest) (*fetch, error) {
	f := &fetch{svc: s, ref: ref, m: m, done: map[blocks.ID]chan struct{}{}, end: make(chan struct{}),
		owners: map[blocks.ID][]string{}, tried: map[blocks.ID]map[string]bool{}, dead: map[string]bool{},
		inflight: map[string]int{}, busy: map[blocks.ID]bool{},
		results: make(chan result, 64), found: make(chan map[blocks.ID][]string, 1)}
	f.ctx, f.cancel = context.WithCancel(s.ctx)
	has, err := s.store.HasBlocks(m.Blocks)
	if err != nil {
		return nil, err
	}
	for i, id := range m.Blocks {
		if has[i] || f.done[id] != nil {
			continue
		}
		f.done[id] = make(chan struct{})
		f.order = append(f.order, id)
		f.owners[id] = s.candidates(id, m.Replicas)
	}
	return f, nil
}

// candidates lists likely owners of a block: members known to hold it,
// then its placement owners among the live members.
func (s *Service) candidates(id blocks.ID, replicas int) []string {
	self := s.net.Self().ID
	out := s.locs.get(id)
	for _, m := range registry.Place(id, s.net.Live(), max(replicas, 1)) {
		if m.ID != self && !contains(out, m.ID) {
			out = append(out, m.ID)
		}
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// wait blocks until block id is stored locally or the fetch failed.
func (f *fetch) wait(ctx context.Context, id blocks.ID) error {
	f.mu.Lock()
	ch := f.done[id]
	f.mu.Unlock()
	if ch == nil {
		return nil // present before the fetch started
	}
	select {
	case <-ch:
	case <-ctx.Done():
		return ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil && !f.isStored(id) {
		return f.err
	}
	return nil
}

func (f *fetch) isStored(id blocks.ID) bool {
	has, err := f.svc.store.HasBlocks([]blocks.ID{id})
	return err == nil && has[0]
}

// run schedules block requests until every block is stored or one cannot be
// found anywhere; then it records the local copy.
func (f *fetch) run() {
	defer close(f.end)
	defer f.cancel()
	err := f.loop()
	if err == nil {
		err = f.svc.store.Commit(f.ref, f.m, store.UseCache)
	}
	if err != nil {
		f.fail(err)
		f.svc.log.Warn().Err(err).Str("ref", f.ref.Short()).Msg("fetch failed")
	}
}

func (f *fetch) loop() error {
	pending := len(f.order)
	workers := 0
	defer func() {
		f.cancel()
		for ; workers > 0; workers-- {
			<-f.results
		}
	}()
	// deadline bounds the time without progress: it moves on with every block.
	deadline := time.Now().Add(f.svc.cfg.LocateTimeout)
	for pending > 0 {
		started, stuck := f.schedule()
		workers += started
		if len(stuck) > 0 && !f.locating {
			if time.Now().After(deadline) {
				return fmt.Errorf("%w: block %s of %s: no member holds it (looked for %s)", blocks.ErrNotFound,
					stuck[0].Short(), f.ref.Short(), f.svc.cfg.LocateTimeout)
			}
			f.locate(stuck, time.Until(deadline))
		}
		select {
		case <-f.ctx.Done():
			return f.ctx.Err()
		case r := <-f.results:
			workers--
			if f.finish(r) {
				pending--
				deadline = time.Now().Add(f.svc.cfg.LocateTimeout)
			}
		case found := <-f.found:
			f.locating = false
			f.merge(found)
		}
	}
	return nil
}

// schedule starts requests for every block that has a free, untried, live
// owner, in object order. It returns how many it started and the blocks
// that have no owner left to try.
func (f *fetch) schedule() (int, []blocks.ID) {
	started := 0
	var stuck []blocks.ID
	window := f.svc.cfg.FetchWindow
	for _, id := range f.order {
		if f.busy[id] || f.stored(id) {
			continue
		}
		owner, ok := f.pick(id)
		if !ok {
			if f.untried(id) == 0 {
				stuck = append(stuck, id)
			}
			continue
		}
		if f.inflight[owner] >= window {
			continue
		}
		f.busy[id] = true
		f.inflight[owner]++
		started++
		go f.get(id, owner)
	}
	return started, stuck
}

// pick chooses the least loaded owner of id that is live, untried for it
// and has room in its window.
func (f *fetch) pick(id blocks.ID) (string, bool) {
	best, load := "", -1
	for _, o := range f.owners[id] {
		if f.dead[o] || f.tried[id][o] {
			continue
		}
		if l := f.inflight[o]; (load < 0 || l < load) && l < f.svc.cfg.FetchWindow {
			best, load = o, l
		}
	}
	return best, load >= 0
}

func (f *fetch) untried(id blocks.ID) int {
	n := 0
	for _, o := range f.owners[id] {
		if !f.dead[o] && !f.tried[id][o] {
			n++
		}
	}
	return n
}

func (f *fetch) stored(id blocks.ID) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	select {
	case <-f.done[id]:
		return true
	default:
		return false
	}
}

// finish applies a worker's result; it reports whether the block is stored.
func (f *fetch) finish(r result) bool {
	f.busy[r.id] = false
	f.inflight[r.owner]--
	if r.err == nil {
		f.mu.Lock()
		close(f.done[r.id])
		f.mu.Unlock()
		return true
	}
	if f.tried[r.id] == nil {
		f.tried[r.id] = map[string]bool{}
	}
	f.tried[r.id][r.owner] = true
	if !isMissing(r.err) {
		f.dead[r.owner] = true // unreachable, timed out, or failing: stop asking it in this fetch
	}
	f.svc.log.Debug().Err(r.err).Str("ref", f.ref.Short()).Str("block", r.id.Short()).Str("owner", r.owner).
		Msg("block request failed; moving to another owner")
	return false
}

// locate asks the network for owners of stuck blocks in the background.
func (f *fetch) locate(ids []blocks.ID, wait time.Duration) {
	f.locating = true
	go func() {
		found := f.svc.whoHas(f.ctx, ids, wait, f.m.Replicas)
		select {
		case f.found <- found:
		case <-f.ctx.Done():
		}
	}()
}

// merge adds located owners; owners tried before get another chance,
// since they answered that they hold the block now.
func (f *fetch) merge(found map[blocks.ID][]string) {
	for id, owners := range found {
		for _, o := range owners {
			if !contains(f.owners[id], o) {
				f.owners[id] = append(f.owners[id], o)
			}
			delete(f.tried[id], o)
			delete(f.dead, o)
		}
	}
}

// fail ends the fetch: every reader still waiting gets err.
func (f *fetch) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
	for _, ch := range f.done {
		select {
		case <-ch:
		default:
			close(ch)
		}
	}
}

// get fetches one block from owner, verifies it and stores it.
func (f *fetch) get(id blocks.ID, owner string) {
	err := f.svc.getBlock(f.ctx, f.ref, id, owner)
	select {
	case f.results <- result{id: id, owner: owner, err: err}:
	case <-f.ctx.Done():
		f.results <- result{id: id, owner: owner, err: f.ctx.Err()}
	}
}

// getBlock asks owner for block id, verifies it and stores it for ref as a
// cached copy.
func (s *Service) getBlock(ctx context.Context, ref blocks.Ref, id blocks.ID, owner string) error {
	return s.getBlockAs(ctx, ref, id, owner, store.UseCache)
}

// getBlockAs is getBlock with the use the block is reserved under.
func (s *Service) getBlockAs(ctx context.Context, ref blocks.Ref, id blocks.ID, owner string, use store.Use) error {
	mem, ok := s.member(owner)
	if !ok {
		return fmt.Errorf("%w: member %s is not live", rpc.ErrUnreachable, owner)
	}
	ctx, cancel := context.WithTimeout(ctx, blockTimeout)
	defer cancel()
	m, err := s.net.Call(ctx, mem.RPC, rpc.OpGetBlocks, &rpc.GetBlocksReq{IDs: rpc.PackIDs([]blocks.ID{id})}, nil)
	if err != nil {
		return err
	}
	if len(m.Data) != 1 {
		return fmt.Errorf("%w: %s does not hold block %s", blocks.ErrNotFound, owner, id.Short())
	}
	if err := blocks.Verify(id, m.Data[0]); err != nil {
		return err
	}
	s.locs.add(id, owner)
	if err := s.store.Reserve(ref, []blocks.ID{id}, use); err != nil {
		return err
	}
	return s.store.PutBlock(id, m.Data[0])
}

// member returns the live member with that id.
func (s *Service) member(id string) (registry.Member, bool) {
	for _, m := range s.net.Live() {
		if m.ID == id {
			return m, true
		}
	}
	return registry.Member{}, false
}

// cancelFetch stops the fetch of ref, if one runs (the object was deleted).
func (s *Service) cancelFetch(ref blocks.Ref) {
	s.fmu.Lock()
	f := s.fetches[ref]
	s.fmu.Unlock()
	if f != nil {
		f.cancel()
		<-f.end
	}
}

// isMissing reports an owner that answered but lacked the block or sent bad
// bytes: it stays usable for other blocks.
func isMissing(err error) bool {
	return errors.Is(err, blocks.ErrNotFound) || errors.Is(err, blocks.ErrHashMismatch)
}
