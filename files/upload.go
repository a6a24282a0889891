package files

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/blocks/store"
	"github.com/emerge-dev/emerge/rpc"
)

// PutOptions are the options of one put. Zero values take the service's
// defaults.
type PutOptions struct {
	BlockSize int
	// Replicas is the target number of durable copies of every block.
	Replicas int
	// MinReplicas is how many of them must exist before the put returns;
	// the rest are made by repair. Capped at Replicas.
	MinReplicas int
	ContentType string
	Meta        map[string]string
	// PrefetchGroups and PrefetchNodes, when set, spread the object to
	// those targets while it lands (prefetch_put.go): replica pushes go to
	// targets first, targets pull each block as it lands, and the prefetch
	// starts when the put commits.
	PrefetchGroups []string
	PrefetchNodes  []string
}

func (s *Service) normalize(o PutOptions) (PutOptions, error) {
	if o.BlockSize == 0 {
		o.BlockSize = s.cfg.BlockSize
	}
	if o.Replicas == 0 {
		o.Replicas = s.cfg.Replicas
	}
	if o.MinReplicas == 0 {
		o.MinReplicas = s.cfg.MinReplicas
	}
	o.MinReplicas = min(o.MinReplicas, o.Replicas)
	if o.BlockSize < blocks.MinBlockSize || o.BlockSize > blocks.MaxBlockSize {
		return o, fmt.Errorf("%w: %d (allowed %d..%d)", blocks.ErrBadBlockSize, o.BlockSize, blocks.MinBlockSize, blocks.MaxBlockSize)
	}
	if o.Replicas < 1 || o.Replicas > blocks.MaxReplicas {
		return o, fmt.Errorf("%w: replicas %d outside [1, %d]", ErrBadUpload, o.Replicas, blocks.MaxReplicas)
	}
	if o.MinReplicas < 1 {
		return o, fmt.Errorf("%w: min_replicas %d below 1", ErrBadUpload, o.MinReplicas)
	}
	if len(o.ContentType) > blocks.MaxContentType {
		return o, fmt.Errorf("%w: content type longer than %d bytes", ErrBadUpload, blocks.MaxContentType)
	}
	if err := blocks.ValidateMeta(o.Meta); err != nil {
		return o, err
	}
	if len(o.PrefetchGroups)+len(o.PrefetchNodes) > 0 {
		if err := checkTargets(o.PrefetchGroups, o.PrefetchNodes); err != nil {
			return o, err
		}
		o.PrefetchGroups, o.PrefetchNodes = normalize(o.PrefetchGroups), normalize(o.PrefetchNodes)
	}
	return o, nil
}

// Upload is a put in progress. Blocks may arrive in any order and
// concurrently; each is hashed, pinned (so no delete or sweep can drop it)
// and stored at once. Nothing is visible until Commit writes the manifest.
type Upload struct {
	id      uint64
	svc     *Service
	opts    PutOptions
	pending blocks.Ref   // key replicas hold the blocks under until the ref is known
	last    atomic.Int64 // unix nanoseconds of the last activity
	begun   time.Time    // for the put duration metric

	writes sync.WaitGroup // Write calls in flight

	// Replica pushes run behind the writes (push.go): ctx ends them on
	// Abort and when Commit returns; slots bounds the blocks waiting for
	// their pushes; pushes counts the pushes in flight.
	ctx    context.Context
	cancel context.CancelFunc
	slots  chan struct{}
	pushes sync.WaitGroup

	landing *landingLog     // blocks landed, for prefetch targets (nil: no prefetch)
	prefer  map[string]bool // prefetch targets: replica pushes go to them first

	mu      sync.Mutex
	pushErr error // the first push that left a block under min_replicas
	ids     []blocks.ID
	lens    []int
	holders map[string]bool  // members holding replicas of some block
	held    map[int][]string // seq -> the other members that took that block
	done    bool
}

// Begin opens an upload and registers it under its id (for rpc sessions).
func (s *Service) Begin(opts PutOptions) (*Upload, error) {
	opts, err := s.normalize(opts)
	if err != nil {
		return nil, err
	}
	if err := s.checkMembers(opts.MinReplicas); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	s.nextID++
	u := &Upload{id: s.nextID, svc: s, opts: opts, pending: newPendingKey(), holders: map[string]bool{},
		held: map[int][]string{}, begun: time.Now(), slots: make(chan struct{}, pushWindow)}
	u.ctx, u.cancel = context.WithCancel(s.ctx)
	u.touch()
	s.uploads[u.id] = u
	if s.pf.openLanding(u) {
		u.slots = make(chan struct{}, swarmPushWindow)
	}
	return u, nil
}

// Upload returns the open upload with that id.
func (s *Service) Upload(id uint64) (*Upload, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.uploads[id]
	if !ok {
		return nil, fmt.Errorf("%w: %d", ErrUploadNotFound, id)
	}
	u.touch()
	return u, nil
}

func (s *Service) forget(id uint64) {
	s.mu.Lock()
	delete(s.uploads, id)
	s.mu.Unlock()
}

// ID names the upload.
func (u *Upload) ID() uint64 { return u.id }

// BlockSize is the size every block but the last must have.
func (u *Upload) BlockSize() int { return u.opts.BlockSize }

func (u *Upload) touch() { u.last.Store(u.svc.cfg.Now().UnixNano()) }

func (u *Upload) idleSince() time.Time { return time.Unix(0, u.last.Load()) }

// Write stores block seq of the object here and starts its pushes to its
// placement owners, which run behind it (push.go): it returns once the block
// is stored here, waiting only when pushWindow blocks already wait for
// their pushes. A push that leaves a block under min_replicas fails the
// next Write and the Commit. Writing the same block twice is harmless;
// different bytes at the same seq are an error.
func (u *Upload) Write(ctx context.Context, seq int, data []byte) error {
	if seq < 0 || seq >= blocks.MaxBlocks {
		return fmt.Errorf("%w: block %d outside [0, %d)", ErrBadUpload, seq, blocks.MaxBlocks)
	}
	if len(data) == 0 || len(data) > u.opts.BlockSize {
		return fmt.Errorf("%w: block %d has %d bytes, want 1..%d", ErrBadUpload, seq, len(data), u.opts.BlockSize)
	}
	if err := u.enter(); err != nil {
		return err
	}
	defer u.writes.Done()
	u.touch()
	if err := u.pushFailure(); err != nil {
		return err
	}
	id := blocks.Sum(data)
	st := u.svc.store
	st.Pin(id)
	if err := u.record(seq, id, len(data)); err != nil {
		st.Unpin(id)
		return err
	}
	if err := u.svc.storeVerified(id, data); err != nil {
		return fmt.Errorf("store block %d: %w", seq, err)
	}
	return u.pushLater(ctx, seq, id, data)
}

// addHolders records the other members that acknowledged block seq.
func (u *Upload) addHolders(seq int, ids []string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, id := range ids {
		u.holders[id] = true
	}
	u.held[seq] = ids
}

func (u *Upload) holdersCopy() map[string]bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make(map[string]bool, len(u.holders))
	for h := range u.holders {
		out[h] = true
	}
	return out
}

// copiesWithout is the durable copies of the least replicated block when
// the members of failed do not count.
func (u *Upload) copiesWithout(failed map[string]error) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	least := u.opts.Replicas
	for seq := range u.ids {
		n := 1
		for _, h := range u.held[seq] {
			if _, bad := failed[h]; !bad {
				n++
			}
		}
		least = min(least, n)
	}
	return least
}

// enter registers a write in flight; Commit and Abort wait for them, so no
// block lands after its upload was released.
func (u *Upload) enter() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.done {
		return fmt.Errorf("%w: %d", ErrUploadNotFound, u.id)
	}
	u.writes.Add(1)
	return nil
}

// close marks the upload done and waits for writes in flight.
func (u *Upload) close() bool {
	u.svc.forget(u.id)
	u.mu.Lock()
	was := u.done
	u.done = true
	u.mu.Unlock()
	u.writes.Wait()
	return !was
}

// record notes id at seq. An identical repeat releases its own pin: the
// first write of the block holds one.
func (u *Upload) record(seq int, id blocks.ID, n int) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	for len(u.ids) <= seq {
		u.ids = append(u.ids, blocks.ID{})
		u.lens = append(u.lens, 0)
	}
	if u.lens[seq] != 0 {
		if u.ids[seq] != id {
			return fmt.Errorf("%w: block %d sent twice with different bytes", ErrBadUpload, seq)
		}
		u.svc.store.Unpin(id)
		return nil
	}
	u.ids[seq], u.lens[seq] = id, n
	return nil
}

// Stored is what a put made.
type Stored struct {
	Ref      blocks.Ref
	Manifest *blocks.Manifest
	// Copies is the number of durable copies of the object's least
	// replicated block when the put returned, this node's included: at least
	// MinReplicas; below Manifest.Replicas when members were missing (repair
	// makes the rest).
	Copies int
	// Prefetch: the prefetch the put asked for is started.
	Prefetch bool
}

// UnderTarget reports a put that returned with fewer copies than its target.
func (st Stored) UnderTarget() bool { return st.Copies < st.Manifest.Replicas }

// Commit checks that blocks 0..n-1 form an object of size bytes, writes its
// manifest and returns the ref. The upload is closed whatever the outcome.
func (u *Upload) Commit(ctx context.Context, n int, size int64) (Stored, error) {
	if !u.close() {
		return Stored{}, fmt.Errorf("%w: %d", ErrUploadNotFound, u.id)
	}
	defer u.cancel()
	u.pushes.Wait()
	ids, err := u.finish(n, size)
	defer u.release(ids)
	if err == nil {
		err = u.pushFailure()
	}
	committed := false
	defer func() {
		if !committed {
			u.landing.end(rpc.LandingAborted, blocks.Ref{}, u.svc.cfg.Now())
		}
	}()
	if err != nil {
		u.releaseHolders() // nothing visible: the pushed copies go, as after Abort
		return Stored{}, err
	}
	m := &blocks.Manifest{Size: size, BlockSize: u.opts.BlockSize, Blocks: ids, ContentType: u.opts.ContentType,
		Meta: u.opts.Meta, Replicas: u.opts.Replicas, Created: u.svc.cfg.Now().UTC()}
	ref, err := m.Ref()
	if err != nil {
		return Stored{}, err
	}
	if err := ctx.Err(); err != nil {
		return Stored{}, err
	}
	failed, err := u.svc.publishManifest(ctx, ref, m, u.pending, u.holdersCopy(), u.prefer)
	if err != nil {
		return Stored{}, err
	}
	copies := u.copiesWithout(failed)
	if copies < u.opts.MinReplicas {
		u.unpublish(ref)
		errs := make([]error, 0, len(failed))
		for h, e := range failed {
			errs = append(errs, fmt.Errorf("%s: %w", h, e))
		}
		return Stored{}, fmt.Errorf("%w: manifest %s not stored by block holders: %d of %d copies, at least %d needed: %w",
			rpc.ErrUnavailable, ref.Short(), copies, u.opts.Replicas, u.opts.MinReplicas, errors.Join(errs...))
	}
	if err := u.svc.store.Commit(ref, m, store.UseOwner); err != nil {
		return Stored{}, fmt.Errorf("commit %s: %w", ref.Short(), err)
	}
	if copies < m.Replicas {
		u.svc.heal.soon(time.Second) // members may be there to take the rest
	}
	u.svc.log.Debug().Str("ref", ref.Short()).Int64("size", size).Int("blocks", n).Int("copies", copies).Msg("object stored")
	committed = true
	u.svc.cfg.Metrics.Put(time.Since(u.begun))
	return Stored{Ref: ref, Manifest: m, Copies: copies, Prefetch: u.startPrefetch(ctx, ref)}, nil
}

// unpublish undoes a manifest that some holders took before the put failed
// (a holder died after taking blocks, so too few copies count): a delete
// where the object is known, so no member shows a put that failed. The ref
// is never used again (a new put has a later Created, so another ref).
func (u *Upload) unpublish(ref blocks.Ref) {
	s := u.svc
	s.tellMembers(s.ctx, ref, s.cfg.Now(), true)
	u.releaseHolders()
}

// finish validates the shape of a closed upload.
func (u *Upload) finish(n int, size int64) ([]blocks.ID, error) {
	ids := u.ids
	if n != len(u.ids) || n != blocks.NumBlocks(size, u.opts.BlockSize) {
		return ids, fmt.Errorf("%w: %d blocks received, commit says %d blocks and %d bytes", ErrBadUpload, len(u.ids), n, size)
	}
	var total int64
	for i, l := range u.lens {
		if l == 0 {
			return ids, fmt.Errorf("%w: block %d missing", ErrBadUpload, i)
		}
		if i < n-1 && l != u.opts.BlockSize {
			return ids, fmt.Errorf("%w: block %d has %d bytes, only the last may be short of %d", ErrBadUpload, i, l, u.opts.BlockSize)
		}
		total += int64(l)
	}
	if total != size {
		return ids, fmt.Errorf("%w: blocks hold %d bytes, commit says %d", ErrBadUpload, total, size)
	}
	return ids, nil
}

// release unpins the upload's blocks and drops those no object uses.
func (u *Upload) release(ids []blocks.ID) {
	held := ids[:0:0]
	for i, id := range ids {
		if u.lens[i] != 0 {
			held = append(held, id)
		}
	}
	u.svc.store.Release(held...)
}

// Abort drops the upload; blocks no committed object uses are deleted,
// here and at the members that received copies of them.
func (u *Upload) Abort() {
	if u.close() {
		u.cancel()
		u.pushes.Wait()
		u.landing.end(rpc.LandingAborted, blocks.Ref{}, u.svc.cfg.Now())
		u.release(u.ids)
		u.releaseHolders()
	}
}

// releaseHolders tells the members that took copies of the upload's
// blocks to drop them (their pending uses would otherwise wait an hour for
// the sweep), in the background.
func (u *Upload) releaseHolders() {
	u.mu.Lock()
	var ids []blocks.ID
	for i, id := range u.ids {
		if u.lens[i] != 0 {
			ids = append(ids, id)
		}
	}
	var holders []string
	for h := range u.holders {
		holders = append(holders, h)
	}
	u.mu.Unlock()
	if len(ids) == 0 || len(holders) == 0 {
		return
	}
	s := u.svc
	s.goBG(func() {
		for _, h := range holders {
			mem, ok := s.member(h)
			if !ok {
				continue
			}
			for from := 0; from < len(ids); from += rpc.MaxIDs {
				page := ids[from:min(from+rpc.MaxIDs, len(ids))]
				ctx, cancel := context.WithTimeout(s.ctx, forgetTimeout)
				_, err := s.net.Call(ctx, mem.RPC, rpc.OpRelease, &rpc.ReleaseReq{Key: u.pending[:], IDs: rpc.PackIDs(page)}, nil)
				cancel()
				if err != nil {
					s.log.Debug().Err(err).Str("peer", h).Msg("aborted put: copies not released (the sweep drops them)")
					break
				}
			}
		}
	})
}
