package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/emerge-dev/emerge/blocks"
)

// TestStoreStress runs workers that commit, re-commit, commit held parts
// of, reserve, delete and sweep overlapping objects built from one small
// pool of blocks, while a checker verifies in consistent snapshots that no
// committed object ever lacks a block or a use. At the end it checks that
// no use outlives its manifest except reservations, and, after the grace
// and a sweep, that the store holds exactly the live objects' blocks.
// EMERGE_LONG=1 runs ten times as many operations; -race a quarter.
func TestStoreStress(t *testing.T) {
	ops := 1000
	if raceEnabled {
		ops = 250
	}
	if os.Getenv("EMERGE_LONG") == "1" {
		ops *= 10
	}
	h := newStressHarness(t, 6, 4)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	checks := make(chan int, 1)
	go func() { checks <- h.checkLoop(stop) }()
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			for i := 0; i < ops && !t.Failed(); i++ {
				h.step(rng)
			}
		}(w)
	}
	wg.Wait()
	close(stop)
	t.Logf("ops %v, %d snapshot checks", h.counts(), <-checks)
	h.checkSnapshot("at rest")
	h.checkOrphanUses()
	checkConsistent(t, h.s)
	h.checkAfterGrace()
}

type stressObject struct {
	o      testObject
	held   bool     // committed with CommitHeld only: part of it is never stored
	stored [][]byte // the blocks a put stores
}

type stressHarness struct {
	t       *testing.T
	clock   *testClock
	s       *Store
	objs    []stressObject
	pending []blocks.Ref // refs of puts whose ref is not known yet (Reserve, CommitHeld)

	mu       sync.Mutex
	reserved map[blocks.Ref]bool // refs Reserve was called for
	n        map[string]*atomic.Int64
}

// newStressHarness builds full objects and held objects over a shared pool
// of 10 blocks, so that most blocks are used by several objects.
func newStressHarness(t *testing.T, full, held int) *stressHarness {
	clock := newTestClock()
	cfg := testConfig(t, clock)
	cfg.TombstoneTTL, cfg.PendingGrace = 3*time.Minute, time.Minute
	h := &stressHarness{t: t, clock: clock, s: openStore(t, cfg), reserved: map[blocks.Ref]bool{}, n: map[string]*atomic.Int64{}}
	rng := newRand(t)
	pool := make([][]byte, 10)
	for i := range pool {
		pool[i] = randomBytes(rng, 1+rng.IntN(3000))
	}
	for i := 0; i < full+held; i++ {
		var bs [][]byte
		for k := 1 + rng.IntN(4); k > 0; k-- {
			bs = append(bs, pool[rng.IntN(len(pool))])
		}
		so := stressObject{held: i >= full, stored: bs}
		if so.held { // a block no one ever stores
			bs = append(bs, randomBytes(rng, 100+i))
		}
		so.o = stressManifest(t, bs, clock.Now())
		h.objs = append(h.objs, so)
	}
	for i := 0; i < 3; i++ {
		h.pending = append(h.pending, blocks.Ref(blocks.Sum([]byte(fmt.Sprintf("pending %d", i)))))
	}
	for _, k := range []string{"put", "recommit", "held", "delete", "freed", "reserve", "sweep", "pin"} {
		h.n[k] = new(atomic.Int64)
	}
	return h
}

// stressManifest is newObject with every block but the last counted as a
// full one (the store does not check block lengths), so small blocks make
// objects of several blocks.
func stressManifest(t *testing.T, bs [][]byte, created time.Time) testObject {
	m := &blocks.Manifest{BlockSize: blocks.MinBlockSize, Replicas: 1, Created: created}
	for _, b := range bs {
		m.Blocks = append(m.Blocks, blocks.Sum(b))
	}
	m.Size = int64(len(bs)-1)*blocks.MinBlockSize + int64(len(bs[len(bs)-1]))
	ref, err := m.Ref()
	if err != nil {
		t.Fatal(err)
	}
	return testObject{blocks: bs, m: m, ref: ref}
}

func (h *stressHarness) counts() map[string]int64 {
	out := map[string]int64{}
	for k, v := range h.n {
		out[k] = v.Load()
	}
	return out
}

func (h *stressHarness) step(rng *rand.Rand) {
	h.clock.Advance(time.Duration(rng.IntN(3000)) * time.Millisecond)
	so := h.objs[rng.IntN(len(h.objs))]
	switch n := rng.IntN(100); {
	case n < 30 && !so.held:
		h.put(rng, so)
	case n < 30:
		h.commitHeld(rng, so)
	case n < 40:
		h.recommit(rng, so)
	case n < 65:
		h.delete(rng, so)
	case n < 75:
		h.reserve(rng)
	case n < 85:
		h.pinHold(rng)
	default:
		h.n["sweep"].Add(1)
		if _, err := h.s.Sweep(); err != nil {
			h.t.Errorf("Sweep: %v", err)
		}
	}
}

// manifest returns a copy of so's manifest created now or at its first
// creation, with random replicas.
func (h *stressHarness) manifest(rng *rand.Rand, so stressObject) *blocks.Manifest {
	m := *so.o.m
	if rng.IntN(3) > 0 {
		m.Created = h.clock.Now()
	}
	m.Replicas = 1 + rng.IntN(5)
	return &m
}

func randomUse(rng *rand.Rand) Use { return Use(1 + rng.IntN(2)) }

// put is files.Upload's sequence: pin, store, commit, release.
func (h *stressHarness) put(rng *rand.Rand, so stressObject) {
	ids := so.o.m.Blocks
	h.s.Pin(ids...)
	h.storeAll(so.stored)
	err := h.s.Commit(so.o.ref, h.manifest(rng, so), randomUse(rng))
	if err != nil && !errors.Is(err, blocks.ErrDeleted) {
		h.t.Errorf("Commit of stored, pinned blocks: %v", err)
	}
	if _, err := h.s.Release(ids...); err != nil {
		h.t.Errorf("Release: %v", err)
	}
	h.n["put"].Add(1)
}

func (h *stressHarness) storeAll(bs [][]byte) {
	for _, b := range bs {
		if err := h.s.PutBlock(blocks.Sum(b), b); err != nil {
			h.t.Errorf("PutBlock: %v", err)
		}
	}
}

// recommit commits a manifest again without storing anything, as a late
// fetch or a re-announcement does.
func (h *stressHarness) recommit(rng *rand.Rand, so stressObject) {
	err := h.s.Commit(so.o.ref, h.manifest(rng, so), randomUse(rng))
	if err != nil && !errors.Is(err, blocks.ErrDeleted) && !errors.Is(err, blocks.ErrMissingBlocks) {
		h.t.Errorf("re-commit: %v", err)
	}
	if so.held && err == nil {
		h.t.Errorf("full commit of %s, which lacks a block", so.o.ref.Short())
	}
	h.n["recommit"].Add(1)
}

// commitHeld is a placement owner's put: blocks pushed under a pending
// ref (sometimes), then the manifest.
func (h *stressHarness) commitHeld(rng *rand.Rand, so stressObject) {
	ids := distinct(so.o.m.Blocks)
	h.s.Pin(ids...)
	defer h.s.Release(ids...)
	var pending blocks.Ref
	if rng.IntN(2) == 0 {
		pending = h.pending[rng.IntN(len(h.pending))]
		h.reserveFor(pending, ids)
	}
	h.storeAll(so.stored)
	held, err := h.s.CommitHeld(so.o.ref, h.manifest(rng, so), randomUse(rng), pending)
	if err != nil && !errors.Is(err, blocks.ErrDeleted) {
		h.t.Errorf("CommitHeld: %v", err)
	}
	if err == nil && held != len(ids)-1 {
		h.t.Errorf("CommitHeld held %d of %d blocks, want all but one", held, len(ids))
	}
	h.n["held"].Add(1)
}

func (h *stressHarness) reserveFor(ref blocks.Ref, ids []blocks.ID) {
	h.mu.Lock()
	h.reserved[ref] = true
	h.mu.Unlock()
	if err := h.s.Reserve(ref, ids, UseOwner); err != nil {
		h.t.Errorf("Reserve: %v", err)
	}
}

// reserve reserves blocks for a pending put or a known ref.
func (h *stressHarness) reserve(rng *rand.Rand) {
	ref := h.pending[rng.IntN(len(h.pending))]
	so := h.objs[rng.IntN(len(h.objs))]
	if rng.IntN(2) == 0 {
		ref = so.o.ref
	}
	h.reserveFor(ref, so.o.m.Blocks[:1+rng.IntN(len(so.o.m.Blocks))])
	h.n["reserve"].Add(1)
}

func (h *stressHarness) delete(rng *rand.Rand, so stressObject) {
	at := h.clock.Now()
	if rng.IntN(4) == 0 {
		at = at.Add(-time.Duration(rng.IntN(60)) * time.Second) // a delayed delete
	}
	freed, err := h.s.Delete(so.o.ref, at)
	if err != nil && !errors.Is(err, blocks.ErrNotFound) {
		h.t.Errorf("Delete: %v", err)
	}
	h.n["delete"].Add(1)
	h.n["freed"].Add(freed)
}

// pinHold pins and stores a block, lets others delete and sweep, and
// requires the block to be there until it unpins it.
func (h *stressHarness) pinHold(rng *rand.Rand) {
	so := h.objs[rng.IntN(len(h.objs))]
	b := so.stored[rng.IntN(len(so.stored))]
	h.s.Pin(blocks.Sum(b))
	defer h.s.Unpin(blocks.Sum(b))
	h.storeAll([][]byte{b})
	for i := 0; i < 3; i++ {
		h.step(rng) // may pin more, delete, sweep
		if has, err := h.s.HasBlocks([]blocks.ID{blocks.Sum(b)}); err != nil || !has[0] {
			h.t.Errorf("pinned block %s gone: %v", blocks.Sum(b).Short(), err)
			return
		}
	}
	h.n["pin"].Add(1)
}

// checkLoop checks snapshots until stop and returns how many it checked.
func (h *stressHarness) checkLoop(stop chan struct{}) int {
	for n := 0; ; n++ {
		select {
		case <-stop:
			return n
		default:
			h.checkSnapshot(fmt.Sprintf("snapshot %d", n))
		}
	}
}

// checkSnapshot checks, in one read transaction, that every manifest's
// stored blocks have a use for it, and that a full object (Commit) has
// all of its blocks.
func (h *stressHarness) checkSnapshot(when string) {
	full := map[blocks.Ref]bool{}
	for _, so := range h.objs {
		full[so.o.ref] = !so.held
	}
	err := h.s.db.View(func(txn *badger.Txn) error {
		for _, so := range h.objs {
			m, _, err := getManifest(txn, so.o.ref)
			if err != nil || m == nil {
				continue
			}
			for _, id := range m.Blocks {
				stored, _ := exists(txn, blockKey(id))
				used, _ := exists(txn, useKey(id, so.o.ref))
				if (stored || full[so.o.ref]) && (!stored || !used) {
					h.t.Errorf("%s: object %s (full %v): block %s stored %v, used %v",
						when, so.o.ref.Short(), full[so.o.ref], id.Short(), stored, used)
				}
			}
		}
		return nil
	})
	if err != nil {
		h.t.Errorf("%s: %v", when, err)
	}
}

// checkOrphanUses requires every use without a manifest to be a
// reservation.
func (h *stressHarness) checkOrphanUses() {
	for ref, n := range h.orphanUses() {
		if !h.reserved[ref] {
			h.t.Errorf("%d uses of %s, which has no manifest and was never reserved", n, ref.Short())
		}
	}
}

func (h *stressHarness) orphanUses() map[blocks.Ref]int {
	out := map[blocks.Ref]int{}
	err := h.s.scan([]byte{prefixUse}, func(txn *badger.Txn, item *badger.Item) error {
		_, ref, _ := splitUseKey(item.Key())
		if live, err := exists(txn, manifestKey(ref)); err != nil || !live {
			out[ref]++
			return err
		}
		return nil
	}, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

// checkAfterGrace sweeps once reservations and tombstones have expired and
// requires no use without a manifest and no block without a use.
func (h *stressHarness) checkAfterGrace() {
	h.clock.Advance(time.Hour)
	if _, err := h.s.Sweep(); err != nil {
		h.t.Fatal(err)
	}
	if o := h.orphanUses(); len(o) > 0 {
		h.t.Errorf("uses without a manifest after the grace: %v", o)
	}
	err := h.s.scan([]byte{prefixBlock}, func(txn *badger.Txn, item *badger.Item) error {
		id, _ := suffix32(item.Key())
		if !hasPrefix(txn, usePrefix(id)) {
			h.t.Errorf("block %s has no use after a sweep", blocks.ID(id).Short())
		}
		return nil
	}, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	if st, _ := h.s.Stats(); st.Pinned != 0 {
		h.t.Errorf("%d blocks still pinned", st.Pinned)
	}
	h.checkSnapshot("after the grace")
	checkConsistent(h.t, h.s)
}
