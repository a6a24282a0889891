package files

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/blocks/store"
	"github.com/emerge-dev/emerge/files/mover"
	"github.com/emerge-dev/emerge/registry"
	"github.com/emerge-dev/emerge/rpc"
)

// blockTimeout bounds one block request to an owner. An owner that dies
// or freezes is usually left sooner: its connection drops, or it stops
// being alive and the mover moves its requests on.
const blockTimeout = 15 * time.Second

// readAheadBytes is how far ahead of the furthest block a reader asked for
// a get fetches (at least two windows of blocks).
const readAheadBytes = 256 << 20

// fetchIdle ends a fetch whose readers went away: nothing asked beyond the
// read-ahead for this long.
const fetchIdle = 30 * time.Second

// fetch brings the missing blocks of one object into the local store for
// its readers, in object order, up to a read-ahead window beyond the
// furthest block asked for, from every known owner at once (the mover with
// the get policy). Readers wait on a block's done channel, so a get
// streams while the fetch goes on.
type fetch struct {
	svc    *Service
	ref    blocks.Ref
	m      *blocks.Manifest
	pos    map[blocks.ID]int // first position of each missing block
	ahead  int               // read-ahead, in blocks
	store  bool              // keep what lands as a cached copy (Config.CacheOff unset)
	mv     *mover.Mover
	ctx    context.Context // canceled by stop, and by the service's Close
	cancel context.CancelFunc

	mu    sync.Mutex
	done  map[blocks.ID]chan struct{} // closed when the block is stored (or the fetch ended)
	want  int                         // furthest position a reader asked for
	err   error                       // why the fetch ended without the block
	end   chan struct{}               // closed when the fetch ended
	kept  map[blocks.ID][]byte        // verified bytes of landed blocks, until readers are done with them (take)
	keptN int                         // bytes in kept
	taken map[blocks.ID]bool          // blocks a reader took (without a cached copy)
	read  chan struct{}               // signalled on each take (without a cached copy)

	writes chan landing // verified blocks for the writer to store
}

// landing is a verified block waiting to be stored by the fetch's writer.
type landing struct {
	id   blocks.ID
	b    []byte
	done chan error // the store's answer, buffered
}

// writeBatch caps the blocks, and writeBatchBytes their bytes, that the
// writer stores in one go.
const (
	writeBatch      = 16
	writeBatchBytes = 16 << 20
)

// handOverBytes caps the verified bytes a fetch keeps in memory for its
// readers (see take); without a cached copy it is also the read-ahead. A
// node's memory during a get grows with it (twice over: Go's heap goal is
// twice the live heap).
const handOverBytes = 16 << 20

// fetchFor returns the running fetch of ref, starting one if needed. A
// fetch that keeps no cached copy starts at block from, the first a reader
// asked for; one that keeps a copy fetches the whole object.
func (s *Service) fetchFor(m *blocks.Manifest, ref blocks.Ref, from int) (*fetch, error) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if f := s.fetches[ref]; f != nil && !f.ended() {
		return f, nil
	}
	if s.bgDone {
		return nil, ErrClosed
	}
	if !s.cfg.CacheOff {
		from = 0
	}
	f, err := s.newFetch(ref, m, from)
	if err != nil {
		return nil, err
	}
	s.fetches[ref] = f
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		f.run()
		s.fmu.Lock()
		if s.fetches[ref] == f {
			delete(s.fetches, ref)
		}
		s.fmu.Unlock()
	}()
	return f, nil
}

// runningFetch returns the fetch of ref in progress, or nil.
func (s *Service) runningFetch(ref blocks.Ref) *fetch {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	return s.fetches[ref]
}

func (s *Service) newFetch(ref blocks.Ref, m *blocks.Manifest, from int) (*fetch, error) {
	f := &fetch{svc: s, ref: ref, m: m, pos: map[blocks.ID]int{}, done: map[blocks.ID]chan struct{}{},
		kept: map[blocks.ID][]byte{}, writes: make(chan landing), end: make(chan struct{}), store: !s.cfg.CacheOff,
		taken: map[blocks.ID]bool{}, read: make(chan struct{}, 1), want: from}
	// Without a cached copy, what lands waits in memory for its readers:
	// the read-ahead is then the hand-over window, which bounds that memory.
	f.ahead = max(2*s.cfg.FetchWindow, readAheadBytes/m.BlockSize)
	if !f.store {
		f.ahead = max(2*s.cfg.FetchWindow, handOverBytes/m.BlockSize)
	}
	has, err := s.store.HasBlocks(m.Blocks)
	if err != nil {
		return nil, err
	}
	var items []mover.Item
	for i, id := range m.Blocks {
		if i < from || has[i] || f.done[id] != nil {
			continue
		}
		f.done[id] = make(chan struct{})
		f.pos[id] = i
		items = append(items, mover.Item{ID: id, Size: int64(m.BlockLen(i))})
	}
	f.mv, err = mover.New(s.moverConfig(getPolicy{f}, f.pull, m.Replicas, fetchIdle), items)
	if err != nil {
		return nil, err
	}
	f.ctx, f.cancel = context.WithCancel(s.ctx)
	return f, nil
}

// moverConfig is the configuration of a pull: from the members a who-has
// finds when no candidate is left, moving on from members that stop being
// alive.
func (s *Service) moverConfig(p mover.Policy, pull func(context.Context, string, blocks.ID) error, replicas int,
	idle time.Duration) mover.Config {
	return mover.Config{Policy: p, Transfer: pull, Alive: s.net.Alive, NoProgress: s.cfg.LocateTimeout,
		Timeout: blockTimeout, Idle: idle, Logger: s.log,
		Locate: func(ctx context.Context, ids []blocks.ID, wait time.Duration) map[blocks.ID][]string {
			return s.whoHas(ctx, ids, wait, replicas)
		}}
}

// getPolicy: object order, a read-ahead window, every likely owner alike,
// least loaded first.
type getPolicy struct{ f *fetch }

func (p getPolicy) Candidates(id blocks.ID) []mover.Candidate {
	return p.f.svc.pullCandidates(id, p.f.m.Replicas)
}

// pullCandidates is candidates as one tier of the mover's.
func (s *Service) pullCandidates(id blocks.ID, replicas int) []mover.Candidate {
	owners := s.candidates(id, replicas)
	out := make([]mover.Candidate, len(owners))
	for i, o := range owners {
		out[i] = mover.Candidate{Peer: o}
	}
	return out
}

func (p getPolicy) Window(int) int { return p.f.svc.cfg.FetchWindow }

func (p getPolicy) Ready(id blocks.ID) bool {
	p.f.mu.Lock()
	defer p.f.mu.Unlock()
	return p.f.pos[id] <= p.f.want+p.f.ahead
}

func (p getPolicy) Landed(id blocks.ID, _ string) {
	p.f.mu.Lock()
	defer p.f.mu.Unlock()
	close(p.f.done[id])
}

// candidates lists likely owners of a block: members known to hold it,
// then its placement owners among the live members.
func (s *Service) candidates(id blocks.ID, replicas int) []string {
	self := s.net.Self().ID
	out := slices.DeleteFunc(s.locs.get(id), func(m string) bool { return m == self })
	for _, m := range registry.Place(id, s.net.Live(), max(replicas, 1)) {
		if m.ID != self && !slices.Contains(out, m.ID) {
			out = append(out, m.ID)
		}
	}
	return out
}

// pull is the fetch's transfer: the block is received, verified and handed
// to the writer, which stores it as a cached copy together with the blocks
// that landed meanwhile; its verified bytes are then kept for a reader
// (hand over), so that serving it does not read back and re-hash what was
// just written. Without a cached copy (Config.CacheOff) the bytes go to the
// readers only.
func (f *fetch) pull(ctx context.Context, owner string, id blocks.ID) error {
	b, err := f.svc.receiveBlock(ctx, id, owner)
	if err != nil {
		return err
	}
	if !f.store {
		f.mu.Lock()
		defer f.mu.Unlock()
		if _, ok := f.kept[id]; !ok {
			f.kept[id] = b
			f.keptN += len(b)
		}
		return nil
	}
	l := landing{id: id, b: b, done: make(chan error, 1)}
	select {
	case f.writes <- l:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err = <-l.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.kept[id]; !ok && f.keptN+len(b) <= handOverBytes {
		f.kept[id] = b
		f.keptN += len(b)
	}
	return nil
}

// writer stores the blocks the transfers verified, all those waiting at
// once (up to writeBatch): one store write for several blocks is much
// cheaper than one each (store.PutBlocks). It returns when stop is closed,
// after the mover's transfers ended.
func (f *fetch) writer(stop <-chan struct{}) {
	for {
		var batch []landing
		select {
		case l := <-f.writes:
			batch = append(batch, l)
		case <-stop:
			return
		}
		size := len(batch[0].b)
	more:
		for len(batch) < writeBatch && size < writeBatchBytes {
			select {
			case l := <-f.writes:
				batch = append(batch, l)
				size += len(l.b)
			default:
				break more
			}
		}
		ids, data := make([]blocks.ID, len(batch)), make([][]byte, len(batch))
		for i, l := range batch {
			ids[i], data[i] = l.id, l.b
		}
		err := f.svc.keep(f.ref, ids, data, store.UseCache)
		for _, l := range batch {
			l.done <- err
		}
	}
}

// take returns the kept bytes of block id, at position i, if the fetch
// still has them. They stay for the object's other readers (the hot copy
// being made while a client streams it reads the same blocks) until they
// are more than half a hand-over window behind the block asked for:
// readers go in object order, several blocks at a time, so nobody will
// take those (a late reader reads the store, or without a cached copy
// pulls the block alone). Nil when the block must be read from the store.
func (f *fetch) take(i int, id blocks.ID) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.kept[id]
	if b != nil && !f.store && !f.taken[id] {
		f.taken[id] = true
		select {
		case f.read <- struct{}{}:
		default:
		}
	}
	stale := i - max(1, handOverBytes/2/f.m.BlockSize)
	for k, v := range f.kept {
		if f.pos[k] < stale {
			delete(f.kept, k)
			f.keptN -= len(v)
		}
	}
	return b
}

// advance records that a reader wants block i, moving the read-ahead.
func (f *fetch) advance(i int) {
	f.mu.Lock()
	moved := i > f.want
	f.want = max(f.want, i)
	f.mu.Unlock()
	if moved {
		f.mv.Wake()
	}
}

// wait blocks until block id is stored locally or the fetch ended without
// it.
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
	if f.err != nil && f.kept[id] == nil && !f.isStored(id) {
		return f.err
	}
	return nil
}

func (f *fetch) isStored(id blocks.ID) bool {
	has, err := f.svc.store.HasBlocks([]blocks.ID{id})
	return err == nil && has[0]
}

func (f *fetch) ended() bool {
	select {
	case <-f.end:
		return true
	default:
		return false
	}
}

// run moves the blocks until every one is stored, the readers went away,
// or one cannot be found; a whole object is then recorded as a cached copy.
func (f *fetch) run() {
	defer close(f.end)
	defer f.cancel()
	start := time.Now()
	stop, wrote := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(wrote)
		f.writer(stop)
	}()
	err := f.mv.Run(f.ctx) // every transfer has ended when it returns
	close(stop)
	<-wrote
	if err == nil && f.store {
		err = f.svc.store.Commit(f.ref, f.m, store.UseCache)
	}
	if err == nil && !f.store {
		err = f.drain()
	}
	if err == nil {
		f.svc.cfg.Metrics.Fetch(time.Since(start))
	}
	if err != nil {
		f.fail(err)
		if !errors.Is(err, mover.ErrIdle) {
			f.svc.log.Warn().Err(err).Str("ref", f.ref.Short()).Msg("fetch failed")
		}
	}
}

// drain waits, once every block landed, until readers took each of them
// (the blocks live only in kept), or nobody took one for fetchIdle.
func (f *fetch) drain() error {
	idle := time.NewTimer(fetchIdle)
	defer idle.Stop()
	for {
		f.mu.Lock()
		left := len(f.pos) - len(f.taken)
		f.mu.Unlock()
		if left <= 0 {
			return nil
		}
		select {
		case <-f.read:
			idle.Reset(fetchIdle)
		case <-idle.C:
			return mover.ErrIdle
		case <-f.ctx.Done():
			return f.ctx.Err()
		}
	}
}

// fail ends the fetch: every reader still waiting gets err.
func (f *fetch) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = fmt.Errorf("fetch of %s: %w", f.ref.Short(), err)
	for _, ch := range f.done {
		select {
		case <-ch:
		default:
			close(ch)
		}
	}
}

// stop cancels the fetch and waits for it to end.
func (f *fetch) stop() {
	f.cancel()
	<-f.end
}

// pullAs returns the transfer of a pull for ref: ask the owner for the
// block, verify it, store it under use.
func (s *Service) pullAs(ref blocks.Ref, use store.Use) func(context.Context, string, blocks.ID) error {
	return func(ctx context.Context, owner string, id blocks.ID) error {
		b, err := s.receiveBlock(ctx, id, owner)
		if err != nil {
			return err
		}
		return s.keep(ref, []blocks.ID{id}, [][]byte{b}, use)
	}
}

// receiveBlock asks owner for block id and verifies it. It returns the
// verified bytes, which nothing else refers to. A block that does not
// match is reported to the owner, which served it unchecked.
func (s *Service) receiveBlock(ctx context.Context, id blocks.ID, owner string) ([]byte, error) {
	mem, ok := s.member(owner)
	if !ok {
		return nil, fmt.Errorf("%w: member %s is not live", rpc.ErrUnreachable, owner)
	}
	m, err := s.net.Call(ctx, mem.RPC, rpc.OpGetBlocks, &rpc.GetBlocksReq{IDs: rpc.PackIDs([]blocks.ID{id})}, nil)
	if err != nil {
		return nil, err
	}
	if len(m.Data) != 1 {
		return nil, fmt.Errorf("%w: %s does not hold block %s", blocks.ErrNotFound, owner, id.Short())
	}
	if err := blocks.Verify(id, m.Data[0]); err != nil {
		s.suspect(ctx, owner, id) // the owner served it unchecked: have it look
		return nil, err
	}
	s.cfg.Metrics.PeerReceived(len(m.Data[0]))
	s.locs.add(id, owner)
	return m.Data[0], nil
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
		f.stop()
	}
}

// fetchOne pulls block i of m for one reader and returns its verified
// bytes, storing nothing: a reader of an object fetched without a cached
// copy (Config.CacheOff) that asked for a block the running fetch started
// after, or no longer holds.
func (s *Service) fetchOne(ctx context.Context, m *blocks.Manifest, i int) ([]byte, error) {
	var (
		mu  sync.Mutex
		got []byte // set by a transfer that landed, read after Run
	)
	pull := func(ctx context.Context, owner string, id blocks.ID) error {
		b, err := s.receiveBlock(ctx, id, owner)
		if err == nil {
			mu.Lock()
			got = b
			mu.Unlock()
		}
		return err
	}
	mv, err := mover.New(s.moverConfig(onePolicy{s, m}, pull, m.Replicas, 0),
		[]mover.Item{{ID: m.Blocks[i], Size: int64(m.BlockLen(i))}})
	if err == nil {
		err = mv.Run(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("block %d: %w", i, err)
	}
	mu.Lock()
	defer mu.Unlock()
	return got, nil
}

// onePolicy pulls single blocks (fetchOne) from their likely owners.
type onePolicy struct {
	s *Service
	m *blocks.Manifest
}

func (p onePolicy) Candidates(id blocks.ID) []mover.Candidate {
	return p.s.pullCandidates(id, p.m.Replicas)
}
func (p onePolicy) Window(int) int           { return 1 }
func (p onePolicy) Ready(blocks.ID) bool     { return true }
func (p onePolicy) Landed(blocks.ID, string) {}
