package node

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/emerge-dev/emerge/blocks"
)

// freer deletes the objects the namespace no longer names: one mechanism
// for every way a version goes (a removal of all versions, a replacing
// binding, versions beyond a keep count, a TTL running out).
//
// Who deletes: the node that writes an erasing entry schedules the objects
// it orphaned at once (nameBind, nameRemove); besides, every scan period
// each node looks for unnamed objects one of whose paths it owns (the
// path's rendezvous owner, as for compare-and-set) and schedules those:
// that covers expiry, which nobody writes, entries merged late, and a
// writer that restarted before its deletes ran. A delete is network-wide
// (files.Service.Delete), so one node deleting suffices; two deleting the
// same object (an owner change) is harmless.
//
// When: an object is deleted grace after it was scheduled, and only if the
// namespace still names it nowhere then (a binding heard meanwhile saves
// it). The grace is what lets a get or prefetch already reading the object,
// on any node, finish: reads that last longer than the grace can fail.
type freer struct {
	n     *Node
	grace time.Duration
	scan  time.Duration

	mu   sync.Mutex
	due  map[blocks.Ref]time.Time // scheduled deletes
	done map[blocks.Ref]bool      // deleted (or known gone) by this node

	kick   chan struct{}
	ctx    context.Context // canceled by close: ends the loop and its deletes
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newFreer(n *Node, grace, scan time.Duration) *freer {
	f := &freer{n: n, grace: grace, scan: scan, due: map[blocks.Ref]time.Time{}, done: map[blocks.Ref]bool{},
		kick: make(chan struct{}, 1)}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	return f
}

func (f *freer) start() {
	f.wg.Add(1)
	go f.loop()
}

func (f *freer) close() {
	f.cancel()
	f.wg.Wait()
}

// schedule queues refs for deletion after the grace.
func (f *freer) schedule(refs []blocks.Ref) {
	if len(refs) == 0 {
		return
	}
	at := time.Now().Add(f.grace)
	f.mu.Lock()
	for _, ref := range refs {
		if _, ok := f.due[ref]; !ok && !f.done[ref] {
			f.due[ref] = at
		}
	}
	f.mu.Unlock()
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// pending is how many deletes wait for their grace.
func (f *freer) pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.due)
}

func (f *freer) loop() {
	defer f.wg.Done()
	ctx := f.ctx
	nextScan := time.Now().Add(f.scan)
	for {
		wake := nextScan
		f.mu.Lock()
		for _, at := range f.due {
			if at.Before(wake) {
				wake = at
			}
		}
		f.mu.Unlock()
		t := time.NewTimer(time.Until(wake))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-f.kick:
		case <-t.C:
		}
		t.Stop()
		if !time.Now().Before(nextScan) {
			f.scanOwned()
			nextScan = time.Now().Add(f.scan)
		}
		f.deleteDue(ctx)
	}
}

// scanOwned schedules the unnamed objects one of whose paths this node
// owns.
func (f *freer) scanOwned() {
	n := f.n
	var refs []blocks.Ref
	for ref := range n.ns.Unnamed(func(p string) bool { return n.nameOwner(p).ID == n.id }) {
		f.mu.Lock()
		skip := f.done[ref]
		f.mu.Unlock()
		if skip {
			continue
		}
		if _, _, err := n.store.Manifest(ref); errors.Is(err, blocks.ErrDeleted) {
			f.mu.Lock()
			f.done[ref] = true // deleted already, by this node or another
			f.mu.Unlock()
			continue
		}
		refs = append(refs, ref)
	}
	f.schedule(refs)
}

// deleteDue deletes the scheduled objects whose grace is over and that
// no version names still.
func (f *freer) deleteDue(ctx context.Context) {
	now := time.Now()
	var ready []blocks.Ref
	f.mu.Lock()
	for ref, at := range f.due {
		if !now.Before(at) {
			ready = append(ready, ref)
			delete(f.due, ref)
		}
	}
	f.mu.Unlock()
	for _, ref := range ready {
		if ctx.Err() != nil {
			return
		}
		if f.n.ns.Named(ref) {
			continue // bound again meanwhile
		}
		if _, err := f.n.deleteObject(ctx, ref); err != nil {
			f.n.log.Warn().Err(err).Str("ref", ref.Short()).Msg("names: delete an object no version names")
			continue
		}
		f.mu.Lock()
		f.done[ref] = true
		f.mu.Unlock()
	}
}

// deleteObject deletes ref network-wide; an object already gone is no
// error.
func (n *Node) deleteObject(ctx context.Context, ref blocks.Ref) (int64, error) {
	freed, err := n.files.Delete(ctx, ref)
	if err != nil && !errors.Is(err, blocks.ErrNotFound) && !errors.Is(err, blocks.ErrDeleted) {
		return freed, err
	}
	n.dropHot(ref)
	return freed, nil
}

// freeUnnamed deletes the objects an erasing write of this node orphaned:
// at once with a negative grace (returning the bytes freed here), else
// after the grace.
func (n *Node) freeUnnamed(ctx context.Context, refs []blocks.Ref) (int64, error) {
	if n.free.grace > 0 {
		n.free.schedule(refs)
		return 0, nil
	}
	var total int64
	for _, ref := range refs {
		freed, err := n.deleteObject(ctx, ref)
		if err != nil {
			return total, err
		}
		total += freed
		n.free.mu.Lock()
		n.free.done[ref] = true
		n.free.mu.Unlock()
	}
	return total, nil
}

// FreesPending is how many objects this node will delete once their grace
// is over (for tests and tools).
func (n *Node) FreesPending() int { return n.free.pending() }
