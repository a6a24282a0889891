package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
)

func TestReserveAndPendingGrace(t *testing.T) {
	clock := newTestClock()
	s := openStore(t, testConfig(t, clock))
	rng := newRand(t)
	pending := newObject(t, randomBlocks(rng, 2, 10), clock.Now())
	stray := randomBlocks(rng, 1, 0)

	// A replica holder reserves before the blocks arrive.
	if err := s.Reserve(pending.ref, pending.m.Blocks, UseOwner); err != nil {
		t.Fatal(err)
	}
	putBlocks(t, s, pending.blocks)
	putBlocks(t, s, stray)
	st, err := s.Sweep()
	if err != nil || st.Blocks != 1 || st.Uses != 0 {
		t.Fatalf("sweep inside the grace: %+v %v (want only the stray block)", st, err)
	}
	mustHave(t, s, pending.blocks, true)
	mustHave(t, s, stray, false)

	clock.Advance(DefaultPendingGrace)
	if st, _ := s.Sweep(); st.Uses != 0 {
		t.Fatal("a use exactly PendingGrace old was swept")
	}
	clock.Advance(time.Second)
	st, err = s.Sweep()
	if err != nil || st.Uses != len(pending.blocks) || st.Blocks != len(pending.blocks) {
		t.Fatalf("sweep past the grace: %+v %v", st, err)
	}
	mustHave(t, s, pending.blocks, false)

	wantErr(t, s.Reserve(pending.ref, nil, 9), blocks.ErrInvalidArgument, "bad use")
	wantErr(t, s.Reserve(pending.ref, make([]blocks.ID, blocks.MaxBlocks+1), UseOwner), blocks.ErrInvalidArgument, "too many ids")
}

func TestReserveThenCommitSurvives(t *testing.T) {
	clock := newTestClock()
	s := openStore(t, testConfig(t, clock))
	o := newObject(t, randomBlocks(newRand(t), 2, 0), clock.Now())
	if err := s.Reserve(o.ref, o.m.Blocks, UseCache); err != nil {
		t.Fatal(err)
	}
	putObject(t, s, o, UseOwner)
	clock.Advance(10 * DefaultPendingGrace)
	if st, err := s.Sweep(); err != nil || st != (SweepStats{}) {
		t.Fatalf("sweep of a committed object: %+v %v", st, err)
	}
	// A late Reserve as cache keeps the stronger use.
	if err := s.Reserve(o.ref, o.m.Blocks, UseCache); err != nil {
		t.Fatal(err)
	}
	if _, use, _ := s.Manifest(o.ref); use != UseOwner {
		t.Fatalf("use %v", use)
	}
	readObject(t, s, o)
}

func TestTombstoneTTL(t *testing.T) {
	clock := newTestClock()
	s := openStore(t, testConfig(t, clock))
	o := newObject(t, randomBlocks(newRand(t), 1, 0), clock.Now())
	putObject(t, s, o, UseOwner)
	s.Delete(o.ref, clock.Advance(time.Second))
	clock.Advance(DefaultTombstoneTTL)
	if st, _ := s.Sweep(); st.Tombstones != 0 {
		t.Fatal("tombstone swept before its TTL")
	}
	clock.Advance(time.Second)
	if st, err := s.Sweep(); err != nil || st.Tombstones != 1 {
		t.Fatalf("sweep after the TTL: %+v %v", st, err)
	}
	_, _, err := s.Manifest(o.ref)
	wantErr(t, err, blocks.ErrNotFound, "manifest after the tombstone expired")
}

// TestSweepAfterInterruptedDelete simulates a crash between Delete's steps:
// the manifest is gone but its uses and blocks remain.
func TestSweepAfterInterruptedDelete(t *testing.T) {
	clock := newTestClock()
	cfg := testConfig(t, clock)
	s := openStore(t, cfg)
	o := newObject(t, randomBlocks(newRand(t), 2, 9), clock.Now())
	putObject(t, s, o, UseOwner)
	if _, _, err := s.unlink(o.ref, clock.Now(), true); err != nil {
		t.Fatal(err)
	}
	s.objects.Add(-1)
	s.Close()

	clock.Advance(DefaultPendingGrace + time.Second)
	s = openStore(t, cfg) // OpenStore sweeps
	mustHave(t, s, o.blocks, false)
	_, _, err := s.Manifest(o.ref)
	wantErr(t, err, blocks.ErrDeleted, "manifest")
}

func TestCommitSplitsTransactions(t *testing.T) {
	clock := newTestClock()
	cfg := testConfig(t, clock)
	cfg.MemTableSize = 1 << 20 // one transaction holds ~1,600 entries
	s := openStore(t, cfg)
	const n = 5000
	o := tinyBlockObject(t, s, n, 0, clock.Now())
	if err := s.Commit(o.ref, o.m, UseOwner); err != nil {
		t.Fatal(err)
	}
	if s.splits.Load() < 2 {
		t.Fatalf("commit of %d uses split %d times", n, s.splits.Load())
	}
	s.Close()

	s = openStore(t, cfg)
	m, _, err := s.Manifest(o.ref)
	if err != nil || len(m.Blocks) != n {
		t.Fatalf("manifest after reopen: %v", err)
	}
	readObject(t, s, o)
	before := s.splits.Load()
	freed, err := s.Delete(o.ref, clock.Advance(time.Second))
	if err != nil || freed != o.bytes() {
		t.Fatalf("delete: freed %d of %d, %v", freed, o.bytes(), err)
	}
	if s.splits.Load() == before {
		t.Fatal("delete of 5000 blocks did not split")
	}
	if st, _ := s.Stats(); st.Blocks != 0 {
		t.Fatalf("%d blocks left", st.Blocks)
	}
}

// TestCommitHugeManifest commits an object of 10^5 blocks (tiny ones:
// Commit does not check block lengths) with the default memtable.
func TestCommitHugeManifest(t *testing.T) {
	if testing.Short() {
		t.Skip("10^5 blocks")
	}
	clock := newTestClock()
	cfg := testConfig(t, clock)
	cfg.MemTableSize = DefaultMemTableSize
	s := openStore(t, cfg)
	const n = 100_000
	o := tinyBlockObject(t, s, n, 1, clock.Now())
	if err := s.Commit(o.ref, o.m, UseOwner); err != nil {
		t.Fatal(err)
	}
	if s.splits.Load() == 0 {
		t.Fatal("10^5 uses fit one transaction: the split path went untested")
	}
	m, _, err := s.Manifest(o.ref)
	if err != nil || len(m.Blocks) != n {
		t.Fatalf("manifest: %v", err)
	}
	if infos, _ := s.List(blocks.Ref{}, 10); len(infos) != 1 || infos[0].Blocks != n {
		t.Fatalf("list: %+v", infos)
	}
	freed, err := s.Delete(o.ref, clock.Advance(time.Second))
	if err != nil || freed != o.bytes() {
		t.Fatalf("delete: %d %v", freed, err)
	}
}

// tinyBlockObject stores n distinct tiny blocks and returns a manifest
// listing them as if they were full blocks.
func tinyBlockObject(t testing.TB, s *Store, n int, salt uint64, created time.Time) testObject {
	o := testObject{m: &blocks.Manifest{BlockSize: testBlockSize, Size: int64(n) * testBlockSize, Created: created}}
	for i := 0; i < n; i++ {
		b := []byte(fmt.Sprintf("tiny block %d/%d", salt, i))
		o.blocks = append(o.blocks, b)
		o.m.Blocks = append(o.m.Blocks, blocks.Sum(b))
	}
	putBlocks(t, s, o.blocks)
	var err error
	if o.ref, err = o.m.Ref(); err != nil {
		t.Fatal(err)
	}
	return o
}

func (o testObject) bytes() (n int64) {
	for _, b := range o.blocks {
		n += int64(len(b))
	}
	return n
}

func TestReopenKeepsEverything(t *testing.T) {
	clock := newTestClock()
	cfg := testConfig(t, clock)
	s := openStore(t, cfg)
	rng := newRand(t)
	var objs []testObject
	for i := 0; i < 5; i++ {
		o := newObject(t, randomBlocks(rng, i, 100*i+1), clock.Advance(time.Second))
		putObject(t, s, o, UseOwner)
		objs = append(objs, o)
	}
	s.Delete(objs[0].ref, clock.Now())
	before, _ := s.Stats()
	s.Close()

	s = openStore(t, cfg)
	after, _ := s.Stats()
	if before.Objects != after.Objects || before.Blocks != after.Blocks || before.BlockBytes != after.BlockBytes {
		t.Fatalf("stats changed across reopen: %+v -> %+v", before, after)
	}
	for _, o := range objs[1:] {
		readObject(t, s, o)
	}
	_, _, err := s.Manifest(objs[0].ref)
	wantErr(t, err, blocks.ErrDeleted, "deleted object after reopen")
}

func TestGCLoopRunsAndStops(t *testing.T) {
	cfg := testConfig(t, newTestClock())
	cfg.GCInterval = 5 * time.Millisecond
	s := openStore(t, cfg)
	stray := []byte("a block nobody uses")
	if err := s.PutBlock(blocks.Sum(stray), stray); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if has, _ := s.HasBlocks([]blocks.ID{blocks.Sum(stray)}); !has[0] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the GC loop never swept the stray block")
		}
		time.Sleep(time.Millisecond) // polling a condition, with a deadline
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestReclaimSpace(t *testing.T) {
	clock := newTestClock()
	cfg := testConfig(t, clock)
	cfg.ValueLogFileSize = 1 << 20
	cfg.MemTableSize = 1 << 20
	s := openStore(t, cfg)
	rng := newRand(t)
	var objs []testObject
	for i := 0; i < 8; i++ {
		o := newObject(t, randomBlocks(rng, 8, 0), clock.Now())
		putObject(t, s, o, UseOwner)
		objs = append(objs, o)
	}
	for _, o := range objs[:7] {
		if _, err := s.Delete(o.ref, clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := s.Stats()
	// Value-log GC learns what is garbage from compactions only; Close
	// compacts level 0 (a busy store compacts as it goes).
	s.Close()
	s = openStore(t, cfg)
	if err := s.ReclaimSpace(); err != nil {
		t.Fatal(err)
	}
	after, _ := s.Stats()
	t.Logf("value log %d -> %d bytes", before.VlogBytes, after.VlogBytes)
	if after.VlogBytes >= before.VlogBytes/2 {
		t.Errorf("value log %d -> %d bytes after deleting 7/8 of the data", before.VlogBytes, after.VlogBytes)
	}
	readObject(t, s, objs[7])
}

// TestConcurrentOps runs puts, deletes, pins and sweeps at once and checks
// that no committed object ever misses a block (run with -race).
func TestConcurrentOps(t *testing.T) {
	clock := newTestClock()
	s := openStore(t, testConfig(t, clock))
	pool := randomBlocks(newRand(t), 12, 0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	live := map[blocks.Ref]testObject{}
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := 0; i < 60; i++ {
				concurrentStep(t, s, rng, pool, clock, &mu, live)
			}
		}(w)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 20; i++ {
			if _, err := s.Sweep(); err != nil {
				t.Errorf("Sweep: %v", err)
			}
		}
	}()
	wg.Wait()
	for ref, o := range live {
		if _, _, err := s.Manifest(ref); err == nil {
			readObject(t, s, o)
		}
	}
}

func concurrentStep(t *testing.T, s *Store, rng *rand.Rand, pool [][]byte, clock *testClock, mu *sync.Mutex, live map[blocks.Ref]testObject) {
	var parts [][]byte
	for n := 1 + rng.IntN(3); n > 0; n-- {
		parts = append(parts, pool[rng.IntN(len(pool))])
	}
	o := newObject(t, parts, clock.Advance(time.Millisecond))
	if rng.IntN(3) == 0 {
		mu.Lock()
		for ref := range live {
			s.Delete(ref, clock.Now())
			delete(live, ref)
			break
		}
		mu.Unlock()
		return
	}
	s.Pin(o.m.Blocks...)
	defer s.Unpin(o.m.Blocks...)
	putBlocks(t, s, o.blocks)
	err := s.Commit(o.ref, o.m, UseOwner)
	if err != nil && !errors.Is(err, blocks.ErrDeleted) {
		t.Errorf("Commit: %v", err)
		return
	}
	mu.Lock()
	live[o.ref] = o
	mu.Unlock()
}
