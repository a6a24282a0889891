package store

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/emerge-dev/emerge/blocks"
)

// TestPinRacesRemoval: a Pin that returns before a removal commits keeps
// its block. One goroutine stores an unused block and removes it, over and
// over; another pins it and, whenever it finds it stored after the pin,
// requires it to stay until the unpin.
func TestPinRacesRemoval(t *testing.T) {
	s := openStore(t, testConfig(t, newTestClock()))
	b := []byte("a block nobody uses")
	id := blocks.Sum(b)
	var stop atomic.Bool
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop.Store(true)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			if err := s.PutBlock(id, b); err != nil {
				t.Errorf("PutBlock: %v", err)
				return
			}
			if _, _, err := s.removeUnused([]blocks.ID{id}); err != nil {
				t.Errorf("removeUnused: %v", err)
				return
			}
		}
	}()
	kept := 0
	for i := 0; i < 3000 && !t.Failed(); i++ {
		s.Pin(id)
		if has := mustHasBlock(t, s, id); has {
			kept++
			for k := 0; k < 3; k++ {
				if !mustHasBlock(t, s, id) {
					t.Fatalf("round %d: a block pinned and seen stored was removed", i)
				}
			}
		}
		s.Unpin(id)
	}
	t.Logf("block seen stored under a pin in %d of 3000 rounds", kept)
}

func mustHasBlock(t *testing.T, s *Store, id blocks.ID) bool {
	t.Helper()
	has, err := s.HasBlocks([]blocks.ID{id})
	if err != nil {
		t.Fatal(err)
	}
	return has[0]
}

// within fails the test unless fn returns within 10 s: a call that waits
// on a lock it should not take never returns.
func within(t *testing.T, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not return: it waits on a lock held by another object's call", what)
	}
}

// TestCallsOnOtherRefsDoNotWait: with one ref's stripe held (as by a
// Commit in progress), commits and deletes of refs in other stripes
// complete.
func TestCallsOnOtherRefsDoNotWait(t *testing.T) {
	clock := newTestClock()
	s := openStore(t, testConfig(t, clock))
	rng := newRand(t)
	busy := newObject(t, randomBlocks(rng, 1, 10), clock.Now())
	unlock := s.refMu.lock(busy.ref)
	defer unlock()
	for i := 0; i < 5; i++ {
		o := newObject(t, randomBlocks(rng, 1, 10+i), clock.Now())
		if stripeOf(o.ref) == stripeOf(busy.ref) {
			continue
		}
		within(t, "Commit of another ref", func() { putObject(t, s, o, UseOwner) })
		within(t, "Delete of another ref", func() {
			if _, err := s.Delete(o.ref, clock.Advance(time.Second)); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestReleaseOfUsedBlocksTakesNoStripe: after a commit, releasing its
// blocks finds a use for each and returns without waiting for the blocks'
// stripes, which a removal (here, the test) holds.
func TestReleaseOfUsedBlocksTakesNoStripe(t *testing.T) {
	clock := newTestClock()
	s := openStore(t, testConfig(t, clock))
	o := newObject(t, randomBlocks(newRand(t), 2, 10), clock.Now())
	s.Pin(o.m.Blocks...)
	putObject(t, s, o, UseOwner)
	unlock := sync.OnceFunc(s.blockMu.writeUses(stripesOf(o.m.Blocks)))
	defer unlock() // should the test fail, Close waits for Release
	within(t, "Release of used blocks", func() {
		if freed, err := s.Release(o.m.Blocks...); err != nil || freed != 0 {
			t.Errorf("Release: freed %d, %v", freed, err)
		}
	})
	unlock()
	if st, _ := s.Stats(); st.Pinned != 0 || st.Blocks != 3 {
		t.Fatalf("after Release: %+v", st)
	}
	readObject(t, s, o)
}

// TestCommitRetriesConflict: a tombstone written between a commit's read
// and its write (here by the clock the commit reads in between) makes the
// transaction conflict; the commit runs again and sees it.
func TestCommitRetriesConflict(t *testing.T) {
	clock := newTestClock()
	cfg := testConfig(t, clock)
	var s *Store
	var armed atomic.Bool
	var ref blocks.Ref
	cfg.Clock = func() time.Time {
		if armed.CompareAndSwap(true, false) {
			err := s.db.Update(func(txn *badger.Txn) error {
				return txn.Set(tombKey(ref), encodeTime(clock.Now().Add(-time.Minute)))
			})
			if err != nil {
				t.Error(err)
			}
		}
		return clock.Now()
	}
	s = openStore(t, cfg)
	o := newObject(t, randomBlocks(newRand(t), 1, 10), clock.Now())
	ref = o.ref
	putBlocks(t, s, o.blocks)
	armed.Store(true)
	if err := s.Commit(o.ref, o.m, UseOwner); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if armed.Load() {
		t.Fatal("the clock was not read inside the commit: no conflict was made")
	}
	if _, dead, _ := s.Tombstone(o.ref); dead {
		t.Fatal("the retried commit did not clear the older tombstone")
	}
	readObject(t, s, o)
}

// TestDeleteIfRetriesConflict: a sweep removal whose records change under
// it conflicts and is re-checked.
func TestDeleteIfRetriesConflict(t *testing.T) {
	s := openStore(t, testConfig(t, newTestClock()))
	var keys [][]byte
	for i := 0; i < 3; i++ {
		keys = append(keys, metaKey(fmt.Sprint("k", i)))
		if err := s.PutMeta(fmt.Sprint("k", i), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	calls := 0
	stale := func(txn *badger.Txn, key []byte) (bool, error) {
		calls++
		ok, err := exists(txn, key)
		if calls == 2 { // rewrite a key this transaction has read
			err = s.db.Update(func(w *badger.Txn) error { return w.Set(keys[0], []byte("w")) })
		}
		return ok, err
	}
	removed, err := s.deleteIf(keys, stale)
	if err != nil || removed != len(keys) || calls <= len(keys) {
		t.Fatalf("deleteIf: removed %d, %d calls, %v", removed, calls, err)
	}
	for i := range keys {
		if _, err := s.GetMeta(fmt.Sprint("k", i)); err == nil {
			t.Fatalf("key %d survived", i)
		}
	}
}
