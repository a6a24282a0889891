package store

import (
	"errors"
	"os/exec"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/internal/tmpfs"
	"github.com/rs/zerolog"
)

// DropCache removes a cached copy and the blocks only it used, writes no
// tombstone, keeps blocks an owner copy shares, and refuses an owner copy.
func TestDropCache(t *testing.T) {
	clock := newTestClock()
	s := openStore(t, testConfig(t, clock))
	rng := newRand(t)
	shared := randomBytes(rng, testBlockSize)
	owner := newObject(t, [][]byte{shared, randomBytes(rng, 100)}, clock.Advance(time.Second))
	cached := newObject(t, [][]byte{shared, randomBytes(rng, testBlockSize), randomBytes(rng, 7)}, clock.Advance(time.Second))
	putObject(t, s, owner, UseOwner)
	putObject(t, s, cached, UseCache)
	if st, _ := s.Stats(); st.CachedObjects != 1 || st.CachedBytes != cached.m.Size {
		t.Fatalf("cache stats %d objects %d bytes, want 1, %d", st.CachedObjects, st.CachedBytes, cached.m.Size)
	}

	_, err := s.DropCache(owner.ref)
	wantErr(t, err, ErrNotCached, "DropCache of an owner copy")
	readObject(t, s, owner)

	freed, err := s.DropCache(cached.ref)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(testBlockSize + 7); freed != want {
		t.Fatalf("freed %d, want %d (the shared block stays)", freed, want)
	}
	_, _, err = s.Manifest(cached.ref)
	wantErr(t, err, blocks.ErrNotFound, "manifest of a dropped cached copy (not deleted: no tombstone)")
	if _, ok, _ := s.Tombstone(cached.ref); ok {
		t.Fatal("DropCache wrote a tombstone")
	}
	readObject(t, s, owner)
	mustHave(t, s, cached.blocks[1:], false)
	_, err = s.DropCache(cached.ref)
	wantErr(t, err, blocks.ErrNotFound, "DropCache twice")
	if st, _ := s.Stats(); st.CachedObjects != 0 || st.CachedBytes != 0 {
		t.Fatalf("cache stats after drop: %+v", st)
	}

	// Fetched again, it is a cached copy again.
	putObject(t, s, cached, UseCache)
	readObject(t, s, cached)
}

// A cached copy that becomes an owner copy (a push of it arrived) leaves
// the cache; owner uses reserved for it by a push under way survive a
// DropCache.
func TestDropCacheKeepsOwnerUses(t *testing.T) {
	clock := newTestClock()
	s := openStore(t, testConfig(t, clock))
	o := newObject(t, randomBlocks(newRand(t), 3, 5), clock.Advance(time.Second))
	putObject(t, s, o, UseCache)
	if err := s.Reserve(o.ref, o.m.Blocks, UseOwner); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DropCache(o.ref); err != nil {
		t.Fatal(err)
	}
	mustHave(t, s, o.blocks, true) // the reservation keeps them
	if err := s.Commit(o.ref, o.m, UseOwner); err != nil {
		t.Fatal(err)
	}
	readObject(t, s, o)
	_, err := s.DropCache(o.ref)
	wantErr(t, err, ErrNotCached, "DropCache after the owner commit")
	if st, _ := s.Stats(); st.CachedObjects != 0 {
		t.Fatalf("an owner copy is in the cache index: %+v", st)
	}
}

// Past CacheMaxBytes the space loop evicts the least recently read cached
// copies; owner copies are never touched; the index survives a restart,
// ordered by when each copy was made.
func TestCacheEvictionLeastRecentlyRead(t *testing.T) {
	clock := newTestClock()
	cfg := testConfig(t, clock)
	cfg.SpaceCheck = 20 * time.Millisecond
	cfg.CacheMaxBytes = 4 * (4*testBlockSize + 1)
	s := openStore(t, cfg)
	rng := newRand(t)
	var owners, cached []testObject
	for i := 0; i < 3; i++ {
		o := newObject(t, randomBlocks(rng, 4, 1), clock.Advance(time.Second))
		putObject(t, s, o, UseOwner)
		owners = append(owners, o)
	}
	for i := 0; i < 4; i++ {
		o := newObject(t, randomBlocks(rng, 4, 1), clock.Advance(time.Second))
		putObject(t, s, o, UseCache)
		cached = append(cached, o)
	}
	clock.Advance(time.Second)
	if _, _, err := s.Manifest(cached[0].ref); err != nil { // read: now the most recent
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // two more: the two least recently read go
		o := newObject(t, randomBlocks(rng, 4, 1), clock.Advance(time.Second))
		putObject(t, s, o, UseCache)
		cached = append(cached, o)
	}
	waitFor(t, "eviction to the cap", func() bool {
		st, _ := s.Stats()
		return st.CachedBytes <= cfg.CacheMaxBytes
	})
	for i, o := range cached {
		_, _, err := s.Manifest(o.ref)
		evicted := i == 1 || i == 2
		if evicted != errors.Is(err, blocks.ErrNotFound) {
			t.Fatalf("cached object %d: Manifest %v, evicted should be %v", i, err, evicted)
		}
		if !evicted {
			readObject(t, s, o)
		}
	}
	for _, o := range owners {
		readObject(t, s, o)
	}
	st, _ := s.Stats()
	if st.Evicted != 2 {
		t.Fatalf("%d evicted, want 2", st.Evicted)
	}
	s.Close()
	s = openStore(t, cfg)
	if st, _ := s.Stats(); st.CachedObjects != 4 {
		t.Fatalf("after restart %d cached objects indexed, want 4", st.CachedObjects)
	}
}

// waitFor polls cond until it holds or a minute passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Cached copies count for nothing on a full disk: once the disk falls
// below the watermark (CacheMinFree, default one value-log file) they are
// evicted, so owner puts that fit without them succeed.
func TestCacheYieldsToOwnerPuts(t *testing.T) {
	if raceEnabled {
		// Badger v4.9.6's value-log GC reads the memtable's max version
		// (DB.MaxVersion) while its write goroutine sets it without a lock:
		// a race inside Badger whenever GC rewrites a file during writes,
		// which this test makes happen on purpose.
		t.Skip("value-log GC during writes trips a data race inside Badger")
	}
	clock := newTestClock()
	cfg := Config{
		Dir:              tmpfs.Mount(t, "48m"),
		ValueLogFileSize: 1 << 20,
		MemTableSize:     1 << 20,
		BlockCacheSize:   1 << 20,
		Clock:            clock.Now,
		Logger:           zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel),
	} // reserve 6 MiB, watermark 1 MiB, the rest default
	s := openStore(t, cfg)
	rng := newRand(t)
	stored := 0
	for i := 0; i < 60; i++ { // more than the disk holds
		o := newObject(t, randomBlocks(rng, 16, 0), clock.Advance(time.Second))
		if err := storeObjectAs(s, o, UseCache); err == nil {
			stored++
		} else if !errors.Is(err, blocks.ErrNoSpace) {
			t.Fatal(err)
		}
	}
	var owners []testObject
	start := time.Now()
	for i := 0; i < 20; i++ { // 20 MiB of the ~40 usable
		o := newObject(t, randomBlocks(rng, 16, 0), clock.Advance(time.Second))
		for {
			err := storeObjectAs(s, o, UseOwner)
			if err == nil {
				break
			}
			if !errors.Is(err, blocks.ErrNoSpace) || time.Since(start) > spaceDeadline {
				st, _ := s.Stats()
				out, _ := exec.Command("sh", "-c", "ls -ls "+cfg.Dir+"; df "+cfg.Dir).CombinedOutput()
				t.Fatalf("owner put %d: %v\n%+v\n%s", i, err, st, out)
			}
			time.Sleep(20 * time.Millisecond) // poll
		}
		owners = append(owners, o)
	}
	for _, o := range owners {
		readObject(t, s, o)
	}
	st, _ := s.Stats()
	t.Logf("%d cached copies of 1 MiB stored on 48 MiB; 20 owner puts took %s; %d evicted, %d cached left, %d reopens",
		stored, time.Since(start).Round(time.Millisecond), st.Evicted, st.CachedObjects, s.reopens.Load())
	if st.Evicted == 0 {
		t.Fatal("no cached copy evicted")
	}
}

func storeObjectAs(s *Store, o testObject, use Use) error {
	s.Pin(o.m.Blocks...)
	defer s.Unpin(o.m.Blocks...)
	for _, b := range o.blocks {
		if err := s.PutBlock(blocks.Sum(b), b); err != nil {
			return err
		}
	}
	return s.Commit(o.ref, o.m, use)
}
