package store

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/emerge-dev/emerge/blocks"
)

// testClock is a settable clock for StoreConfig.Clock.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock {
	return &testClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// testConfig is an on-disk config in a fresh temporary directory with the
// GC loop off, small Badger sizes and clock as its clock.
func testConfig(t testing.TB, clock *testClock) Config {
	return Config{
		Dir:              t.TempDir(),
		ValueLogFileSize: 16 << 20,
		MemTableSize:     8 << 20,
		BlockCacheSize:   8 << 20,
		GCInterval:       -1,
		Clock:            clock.Now,
	}
}

// openStore opens cfg and closes the store in t.Cleanup after checking its
// invariants (unless the test closed it already).
func openStore(t testing.TB, cfg Config) *Store {
	t.Helper()
	s, err := Open(cfg)
	if err != nil {
		t.Fatalf("OpenStore: %v", err)
	}
	t.Cleanup(func() {
		if !s.isClosed() {
			checkConsistent(t, s)
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func (s *Store) isClosed() bool {
	s.life.RLock()
	defer s.life.RUnlock()
	return s.closed
}

// checkConsistent verifies the store's invariants: every manifest decodes
// under its own ref, each of its stored blocks has a use for it (CommitHeld
// objects may lack blocks; Commit's full-presence rule is checked by the
// tests and the model), and the in-memory counters match a full recount.
func checkConsistent(t testing.TB, s *Store) {
	t.Helper()
	var objects, nBlocks, byteCount int64
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixManifest}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			objects++
			ref, _ := suffix32(it.Item().Key())
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			m, _, err := decodeStored(ref, v)
			if err != nil {
				return err
			}
			for _, id := range m.Blocks {
				stored, _ := exists(txn, blockKey(id))
				if used, _ := exists(txn, useKey(id, ref)); stored && !used {
					t.Errorf("object %s: stored block %s has no use", blocks.Ref(ref).Short(), id.Short())
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("consistency scan: %v", err)
	}
	err = s.scan([]byte{prefixBlock}, func(_ *badger.Txn, item *badger.Item) error {
		nBlocks++
		return item.Value(func(v []byte) error { byteCount += int64(len(v)); return nil })
	}, nil)
	if err != nil {
		t.Fatalf("block scan: %v", err)
	}
	if got := s.objects.Load(); got != objects {
		t.Errorf("objects counter %d, stored %d", got, objects)
	}
	if got := s.blocks.Load(); got != nBlocks {
		t.Errorf("blocks counter %d, stored %d", got, nBlocks)
	}
	if got := s.blockBytes.Load(); got != byteCount {
		t.Errorf("block bytes counter %d, stored %d", got, byteCount)
	}
}

const testBlockSize = blocks.MinBlockSize

// testObject is an object's bytes cut into blocks with its manifest.
type testObject struct {
	blocks [][]byte
	m      *blocks.Manifest
	ref    blocks.Ref
}

// newObject builds an object from blocks (all but the last testBlockSize
// long) created at created.
func newObject(t testing.TB, data [][]byte, created time.Time) testObject {
	t.Helper()
	m := &blocks.Manifest{BlockSize: testBlockSize, Replicas: 2, Created: created, ContentType: "application/test"}
	for _, b := range data {
		m.Blocks = append(m.Blocks, blocks.Sum(b))
		m.Size += int64(len(b))
	}
	ref, err := m.Ref()
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	return testObject{blocks: data, m: m, ref: ref}
}

// randomBlocks returns n full blocks and, if tail > 0, a last block of tail
// bytes.
func randomBlocks(rng *rand.Rand, n, tail int) [][]byte {
	var out [][]byte
	for i := 0; i < n; i++ {
		out = append(out, randomBytes(rng, testBlockSize))
	}
	if tail > 0 {
		out = append(out, randomBytes(rng, tail))
	}
	return out
}

func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := rng.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n &^ 7; i < n; i++ {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// putObject stores the object's blocks and commits it.
func putObject(t testing.TB, s *Store, o testObject, use Use) {
	t.Helper()
	putBlocks(t, s, o.blocks)
	if err := s.Commit(o.ref, o.m, use); err != nil {
		t.Fatalf("Commit %s: %v", o.ref.Short(), err)
	}
}

func putBlocks(t testing.TB, s *Store, data [][]byte) {
	t.Helper()
	for _, b := range data {
		if err := s.PutBlock(blocks.Sum(b), b); err != nil {
			t.Fatalf("PutBlock: %v", err)
		}
	}
}

// readObject reads the object back through Manifest and GetBlock and
// compares it byte for byte.
func readObject(t testing.TB, s *Store, o testObject) {
	t.Helper()
	m, _, err := s.Manifest(o.ref)
	if err != nil {
		t.Fatalf("Manifest %s: %v", o.ref.Short(), err)
	}
	if len(m.Blocks) != len(o.blocks) || m.Size != o.m.Size {
		t.Fatalf("manifest %s: %d blocks, %d bytes; want %d, %d", o.ref.Short(), len(m.Blocks), m.Size, len(o.blocks), o.m.Size)
	}
	var buf []byte
	for i, id := range m.Blocks {
		buf, err = s.GetBlock(id, buf)
		if err != nil {
			t.Fatalf("object %s block %d: %v", o.ref.Short(), i, err)
		}
		if !bytes.Equal(buf, o.blocks[i]) {
			t.Fatalf("object %s block %d differs", o.ref.Short(), i)
		}
	}
}

func wantErr(t testing.TB, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got %v, want %v", what, err, target)
	}
}

func mustHave(t testing.TB, s *Store, data [][]byte, want bool) {
	t.Helper()
	ids := make([]blocks.ID, len(data))
	for i, b := range data {
		ids[i] = blocks.Sum(b)
	}
	has, err := s.HasBlocks(ids)
	if err != nil {
		t.Fatalf("HasBlocks: %v", err)
	}
	for i, h := range has {
		if h != want {
			t.Fatalf("block %d (%s): present=%v, want %v", i, ids[i].Short(), h, want)
		}
	}
}

func newRand(t testing.TB) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(len(t.Name())), 42))
}
