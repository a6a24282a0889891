package shm

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emerge-dev/emerge/blocks"
)

const mib = 1 << 20

// shmDir returns a fresh directory path under /dev/shm (not created), or
// skips the test on a machine without /dev/shm. EMERGE_SHM_TEST_DIR names
// another base, a tmpfs mounted with huge=within_size say.
func shmDir(tb testing.TB) string {
	tb.Helper()
	base := cmp.Or(os.Getenv("EMERGE_SHM_TEST_DIR"), "/dev/shm")
	if st, err := os.Stat(base); err != nil || !st.IsDir() {
		tb.Skipf("no %s on this machine", base)
	}
	d, err := os.MkdirTemp(base, "emerge-shm-test-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(d) })
	return filepath.Join(d, "tier")
}

// newTier opens a tier in a fresh shm directory; at cleanup it checks the
// tier's files against its accounting, then closes it.
func newTier(tb testing.TB, cfg Config) *Tier {
	tb.Helper()
	if cfg.Dir == "" {
		cfg.Dir = shmDir(tb)
	}
	if cfg.Capacity == 0 {
		cfg.Capacity = 64 * mib
	}
	tier, err := Open(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := tier.check(); err != nil {
			tb.Error(err)
		}
		if err := tier.Close(); err != nil {
			tb.Error(err)
		}
	})
	return tier
}

// check verifies that the files in Dir are exactly the ones the tier
// accounts for, with the sizes it accounts, and that used <= Capacity.
func (t *Tier) check() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil
	}
	if t.used() > t.cfg.Capacity {
		return fmt.Errorf("used %d > capacity %d", t.used(), t.cfg.Capacity)
	}
	want := map[string]int64{}
	var sum int64
	for el := t.lru.Front(); el != nil; el = el.Next() {
		e := el.Value.(*entry)
		want[hotName(e.ref)] = e.size
		sum += e.size
	}
	for _, w := range t.pending {
		want[w.name] = -1 // size depends on how far the fill got
	}
	for name, u := range t.uploads {
		want[name] = u.size
	}
	for _, f := range t.pool.files {
		want[f.name] = f.size
	}
	if sum != t.hot {
		return fmt.Errorf("hot bytes %d, entries sum to %d", t.hot, sum)
	}
	return t.checkFiles(want)
}

func (t *Tier) checkFiles(want map[string]int64) error {
	des, err := os.ReadDir(t.cfg.Dir)
	if err != nil {
		return err
	}
	var problems []string
	for _, de := range des {
		size, ok := want[de.Name()]
		delete(want, de.Name())
		info, err := de.Info()
		switch {
		case !ours(de.Name()):
		case !ok:
			problems = append(problems, "unaccounted file "+de.Name())
		case err == nil && size >= 0 && info.Size() != size:
			problems = append(problems, fmt.Sprintf("%s is %d bytes, accounted %d", de.Name(), info.Size(), size))
		}
	}
	for name := range want {
		problems = append(problems, "missing file "+name)
	}
	if len(problems) > 0 {
		return fmt.Errorf("tier files: %s", strings.Join(problems, "; "))
	}
	return nil
}

// testRef is a deterministic ref for i.
func testRef(i int) blocks.Ref {
	return blocks.Ref(sha256.Sum256(binary.LittleEndian.AppendUint64(nil, uint64(i))))
}

// content is n deterministic bytes that depend on seed.
func content(seed blocks.Ref, n int64) []byte {
	r := rand.NewChaCha8(seed)
	b := make([]byte, n)
	_, _ = r.Read(b)
	return b
}

// makeHot writes data as ref's hot copy.
func makeHot(tb testing.TB, tier *Tier, ref blocks.Ref, data []byte) {
	tb.Helper()
	w, err := tier.Create(ref, int64(len(data)))
	if err != nil {
		tb.Fatalf("create %s: %v", ref.Short(), err)
	}
	defer w.Abort()
	if _, err := w.Write(data); err != nil {
		tb.Fatal(err)
	}
	if err := w.Seal(); err != nil {
		tb.Fatal(err)
	}
}

// readHot maps ref's hot copy and returns a copy of its bytes.
func readHot(tb testing.TB, tier *Tier, ref blocks.Ref) []byte {
	tb.Helper()
	path, size, err := tier.Acquire(ref)
	if err != nil {
		tb.Fatalf("acquire %s: %v", ref.Short(), err)
	}
	v, err := OpenView(path, size)
	if err != nil {
		tb.Fatal(err)
	}
	defer v.Close()
	return bytes.Clone(v.Bytes())
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
