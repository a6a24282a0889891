package shm

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A view keeps reading its bytes after its file is evicted, after other
// copies reuse pages, and after the same ref is made hot again with other
// content in a new file.
func TestEvictWhileViewOpen(t *testing.T) {
	tier := newTier(t, Config{Capacity: 8 * mib, RecycleBytes: 8 * mib})
	a := testRef(1)
	old := content(a, 4*mib)
	makeHot(t, tier, a, old)
	path, size, err := tier.Acquire(a)
	if err != nil {
		t.Fatal(err)
	}
	v, err := OpenView(path, size)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	for i := 2; i < 6; i++ { // each evicts the least recently used
		makeHot(t, tier, testRef(i), content(testRef(i), 4*mib))
	}
	if tier.Has(a) || tier.Stats().Evictions == 0 {
		t.Fatal("a was not evicted")
	}
	if !bytes.Equal(v.Bytes(), old) {
		t.Fatal("view changed after eviction")
	}
	fresh := content(testRef(99), 4*mib) // other content under the same ref
	makeHot(t, tier, a, fresh)
	if !bytes.Equal(v.Bytes(), old) {
		t.Fatal("view changed after the ref was made hot again")
	}
	if !bytes.Equal(readHot(t, tier, a), fresh) {
		t.Fatal("new view does not see the new file")
	}
}

// With no client holding it, an evicted file's pages are reused by the
// next copy, which then reads right.
func TestRecycle(t *testing.T) {
	tier := newTier(t, Config{Capacity: 4 * mib})
	makeHot(t, tier, testRef(1), content(testRef(1), 3*mib))
	b := content(testRef(2), 3*mib-5)
	makeHot(t, tier, testRef(2), b)
	st := tier.Stats()
	if st.Recycled != 1 || st.Evictions != 1 || st.PoolFiles != 0 {
		t.Fatalf("stats %+v", st)
	}
	if exists(filepath.Join(tier.Dir(), testRef(1).String())) {
		t.Fatal("evicted copy still visible")
	}
	if !bytes.Equal(readHot(t, tier, testRef(2)), b) {
		t.Fatal("recycled file reads wrong")
	}
}

// A client that opened a hot copy's file before the node recycled it gets
// ErrStale, never another object's bytes.
func TestViewStaleAfterRecycle(t *testing.T) {
	tier := newTier(t, Config{Capacity: 4 * mib})
	makeHot(t, tier, testRef(1), content(testRef(1), 3*mib))
	path, size, _ := tier.Acquire(testRef(1))
	f, err := os.Open(path) // opened, not yet locked
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	makeHot(t, tier, testRef(2), content(testRef(2), 3*mib))
	if tier.Stats().Recycled != 1 {
		t.Fatal("not recycled")
	}
	if err := lockChecked(f, path, size); !errors.Is(err, ErrStale) {
		t.Fatalf("view of recycled file: %v", err)
	}
	if _, err := OpenView(path, size); !errors.Is(err, ErrStale) {
		t.Fatalf("view of evicted path: %v", err)
	}
}

// While the node holds the exclusive lock (mid-recycle), OpenView fails
// with ErrStale instead of waiting.
func TestViewWhileNodeLocks(t *testing.T) {
	tier := newTier(t, Config{})
	makeHot(t, tier, testRef(1), content(testRef(1), mib))
	path, size, _ := tier.Acquire(testRef(1))
	f, _ := os.Open(path)
	defer f.Close()
	if ok, err := tryLock(f, lockEx); !ok || err != nil {
		t.Fatal("lock", err)
	}
	if _, err := OpenView(path, size); !errors.Is(err, ErrStale) {
		t.Fatalf("view under exclusive lock: %v", err)
	}
	if _, err := OpenView(path, size+1); !errors.Is(err, ErrStale) {
		t.Fatalf("wrong size: %v", err)
	}
}

func TestLRUOrder(t *testing.T) {
	tier := newTier(t, Config{Capacity: 3 * mib})
	for i := 1; i <= 3; i++ {
		makeHot(t, tier, testRef(i), content(testRef(i), mib))
	}
	if _, _, err := tier.Acquire(testRef(1)); err != nil { // 1 is now the most recent
		t.Fatal(err)
	}
	tier.Has(testRef(2)) // Has does not count as a use
	makeHot(t, tier, testRef(4), content(testRef(4), mib))
	if tier.Has(testRef(2)) || !tier.Has(testRef(1)) || !tier.Has(testRef(3)) {
		t.Fatal("evicted the wrong copy")
	}
	makeHot(t, tier, testRef(5), content(testRef(5), 2*mib))
	if tier.Has(testRef(3)) || tier.Has(testRef(1)) || !tier.Has(testRef(4)) {
		t.Fatal("evicted the wrong copies for a 2 MiB object")
	}
}

func TestRemove(t *testing.T) {
	tier := newTier(t, Config{RecycleBytes: -1})
	makeHot(t, tier, testRef(1), content(testRef(1), mib))
	if err := tier.Remove(testRef(1)); err != nil {
		t.Fatal(err)
	}
	if err := tier.Remove(testRef(1)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second remove: %v", err)
	}
	if st := tier.Stats(); st.Used != 0 || st.PoolFiles != 0 {
		t.Fatalf("recycling off but stats %+v", st)
	}
}

// The pool never holds more than RecycleBytes, and old pool files make
// room before any hot copy is evicted.
func TestPoolBounds(t *testing.T) {
	tier := newTier(t, Config{Capacity: 8 * mib, RecycleBytes: 2 * mib})
	for i := 1; i <= 4; i++ {
		makeHot(t, tier, testRef(i), content(testRef(i), mib))
	}
	for i := 1; i <= 3; i++ {
		tier.Remove(testRef(i))
	}
	if st := tier.Stats(); st.Pool != 2*mib || st.PoolFiles != 2 {
		t.Fatalf("pool %+v", st)
	}
	makeHot(t, tier, testRef(5), content(testRef(5), 7*mib))
	st := tier.Stats()
	if st.Evictions != 0 || !tier.Has(testRef(4)) || st.Used > st.Capacity {
		t.Fatalf("pool did not make room first: %+v", st)
	}
}

func TestReadHot(t *testing.T) {
	tier := newTier(t, Config{Capacity: 4 * mib})
	data := content(testRef(1), 3*mib)
	makeHot(t, tier, testRef(1), data)
	path, size, _ := tier.Acquire(testRef(1))
	dst := make([]byte, size+10)
	if err := ReadHot(path, size, dst); err != nil || !bytes.Equal(dst[:size], data) {
		t.Fatal("ReadHot", err)
	}
	if err := ReadHot(path, size, dst[:size-1]); !errors.Is(err, ErrOverflow) {
		t.Fatalf("short buffer: %v", err)
	}
	makeHot(t, tier, testRef(2), content(testRef(2), 3*mib)) // evicts 1
	if err := ReadHot(path, size, dst); !errors.Is(err, ErrStale) {
		t.Fatalf("ReadHot of an evicted copy: %v", err)
	}
	makeHot(t, tier, testRef(3), nil)
	path, size, _ = tier.Acquire(testRef(3))
	if err := ReadHot(path, size, nil); err != nil {
		t.Fatalf("empty copy: %v", err)
	}
}
