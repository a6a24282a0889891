package store

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/emerge-dev/emerge/blocks"
)

// TestConcurrentCommitsMerge: commits of one ref from many goroutines at
// once end as one object with the largest Replicas, the latest Created and
// the strongest use any of them brought.
func TestConcurrentCommitsMerge(t *testing.T) {
	clock := newTestClock()
	s := openStore(t, testConfig(t, clock))
	o := newObject(t, randomBlocks(newRand(t), 2, 10), clock.Now())
	putBlocks(t, s, o.blocks)
	const n = 16
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			m := *o.m
			m.Replicas = 1 + (i*7)%n // n is the largest, at i = 9
			m.Created = o.m.Created.Add(time.Duration((i*5)%n) * time.Second)
			use := UseCache
			if i == 3 {
				use = UseOwner
			}
			if err := s.Commit(o.ref, &m, use); err != nil {
				t.Errorf("Commit %d: %v", i, err)
			}
		}(i)
	}
	wg.Wait()
	m, use, err := s.Manifest(o.ref)
	if err != nil {
		t.Fatal(err)
	}
	if m.Replicas != n || !m.Created.Equal(o.m.Created.Add((n-1)*time.Second)) || use != UseOwner {
		t.Fatalf("merged: replicas %d created %v use %v", m.Replicas, m.Created, use)
	}
	if st, _ := s.Stats(); st.Objects != 1 {
		t.Fatalf("%d objects", st.Objects)
	}
}

// TestCommitDeleteSameRef races a put of one ref against an older delete
// of it (and a sweep), round after round, with the object stored or not
// before the round; the ref's blocks are shared with another live object.
// Whatever the order, the newer put wins: the object ends whole, each block
// with its use. Deleting it then leaves no use of it.
func TestCommitDeleteSameRef(t *testing.T) {
	clock := newTestClock()
	s := openStore(t, testConfig(t, clock))
	rng := newRand(t)
	shared := randomBlocks(rng, 2, 0)
	own := randomBytes(rng, 500)
	other := newObject(t, [][]byte{shared[0], randomBytes(rng, 300)}, clock.Now())
	putObject(t, s, other, UseOwner)
	o := newObject(t, [][]byte{shared[0], shared[1], own}, clock.Now())
	for r := 0; r < 200; r++ {
		base := clock.Advance(10 * time.Second)
		if rng.IntN(2) == 0 {
			racePut(t, s, o, base)
		}
		var wg sync.WaitGroup
		wg.Add(3)
		go func() { defer wg.Done(); racePut(t, s, o, base.Add(2*time.Second)) }()
		go func() { defer wg.Done(); raceDelete(t, s, o.ref, base.Add(time.Second)) }()
		go func() {
			defer wg.Done()
			if _, err := s.Sweep(); err != nil {
				t.Errorf("Sweep: %v", err)
			}
		}()
		wg.Wait()
		checkRefState(t, s, o, true)
		if rng.IntN(2) == 0 {
			raceDelete(t, s, o.ref, base.Add(3*time.Second))
			checkRefState(t, s, o, false)
		}
		readObject(t, s, other)
		if t.Failed() {
			t.Fatalf("round %d", r)
		}
	}
}

// racePut puts o created at created as files.Upload does.
func racePut(t *testing.T, s *Store, o testObject, created time.Time) {
	s.Pin(o.m.Blocks...)
	defer s.Release(o.m.Blocks...)
	putBlocks(t, s, o.blocks)
	m := *o.m
	m.Created = created
	if err := s.Commit(o.ref, &m, UseOwner); err != nil {
		t.Errorf("Commit: %v", err)
	}
}

func raceDelete(t *testing.T, s *Store, ref blocks.Ref, at time.Time) {
	if _, err := s.Delete(ref, at); err != nil && !errors.Is(err, blocks.ErrNotFound) {
		t.Errorf("Delete: %v", err)
	}
}

// checkRefState requires o's records to be all there (live) or all gone.
func checkRefState(t *testing.T, s *Store, o testObject, live bool) {
	t.Helper()
	err := s.db.View(func(txn *badger.Txn) error {
		m, _, err := getManifest(txn, o.ref)
		if err != nil || (m != nil) != live {
			return fmt.Errorf("manifest present %v (want %v), %v", m != nil, live, err)
		}
		for _, id := range o.m.Blocks {
			stored, _ := exists(txn, blockKey(id))
			used, _ := exists(txn, useKey(id, o.ref))
			if live && (!stored || !used) {
				t.Errorf("object %s: block %s stored %v, used %v", o.ref.Short(), id.Short(), stored, used)
			}
			if !live && used {
				t.Errorf("deleted object %s: block %s still has its use", o.ref.Short(), id.Short())
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
