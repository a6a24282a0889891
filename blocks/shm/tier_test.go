package shm

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/emerge-dev/emerge/blocks"
)

func TestRoundTrip(t *testing.T) {
	tier := newTier(t, Config{})
	for i, n := range []int64{0, 1, 4095, 4097, 3*mib + 7} {
		ref := testRef(i)
		data := content(ref, n)
		makeHot(t, tier, ref, data)
		if !tier.Has(ref) {
			t.Fatalf("size %d: not hot after Seal", n)
		}
		if got := readHot(t, tier, ref); !bytes.Equal(got, data) {
			t.Fatalf("size %d: view differs from what was written", n)
		}
	}
	st := tier.Stats()
	if st.Entries != 5 || st.Hot != 3*mib+7+4097+4095+1 || st.Used != st.Hot {
		t.Fatalf("stats %+v", st)
	}
}

func TestEmptyView(t *testing.T) {
	tier := newTier(t, Config{})
	makeHot(t, tier, testRef(1), nil)
	path, size, err := tier.Acquire(testRef(1))
	if err != nil || size != 0 {
		t.Fatal(size, err)
	}
	v, err := OpenView(path, size)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Bytes()) != 0 {
		t.Fatal("empty object has bytes")
	}
	if v.Close() != nil || v.Close() != nil {
		t.Fatal("close")
	}
}

func TestWriterConcurrentWriteAt(t *testing.T) {
	tier := newTier(t, Config{})
	ref := testRef(1)
	data := content(ref, 8*mib+3)
	w, err := tier.Create(ref, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for off := 0; off < len(data); off += mib {
		wg.Go(func() {
			if _, err := w.WriteAt(data[off:min(off+mib, len(data))], int64(off)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if err := w.Seal(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readHot(t, tier, ref), data) {
		t.Fatal("content differs")
	}
}

func TestReadFrom(t *testing.T) {
	tier := newTier(t, Config{})
	ref := testRef(1)
	data := content(ref, 3*mib+5)
	w, err := tier.Create(ref, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	// A reader that is not a WriterTo goes through the copy buffer.
	if n, err := w.ReadFrom(struct{ *bytes.Reader }{bytes.NewReader(data)}); err != nil || n != int64(len(data)) {
		t.Fatal(n, err)
	}
	if err := w.Seal(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readHot(t, tier, ref), data) {
		t.Fatal("content differs")
	}
	w, _ = tier.Create(testRef(2), 10)
	if _, err := w.ReadFrom(bytes.NewReader(make([]byte, 11))); !errors.Is(err, ErrOverflow) {
		t.Fatalf("long reader: %v", err)
	}
	if _, err := w.Write([]byte{1}); !errors.Is(err, ErrFinished) {
		t.Fatalf("write after failed ReadFrom: %v", err)
	}
}

// A half-written copy is never visible under its ref's name, and every way
// a Writer can end early releases its reservation and its file.
func TestHalfWrittenInvisible(t *testing.T) {
	tier := newTier(t, Config{})
	ref := testRef(1)
	hotPath := filepath.Join(tier.Dir(), ref.String())
	w, err := tier.Create(ref, 2*mib)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(content(ref, mib)); err != nil {
		t.Fatal(err)
	}
	if exists(hotPath) || tier.Has(ref) {
		t.Fatal("half-written copy visible")
	}
	if _, _, err := tier.Acquire(ref); !errors.Is(err, ErrNotFound) || !errors.Is(err, blocks.ErrNotFound) {
		t.Fatalf("acquire: %v", err)
	}
	if err := w.Seal(); !errors.Is(err, ErrShortWrite) {
		t.Fatalf("seal short: %v", err)
	}
	if exists(hotPath) || tier.Stats().Reserved != 0 {
		t.Fatal("short seal left the copy or its reservation")
	}
	if err := w.Seal(); !errors.Is(err, ErrFinished) {
		t.Fatalf("second seal: %v", err)
	}
	w, _ = tier.Create(ref, 2*mib)
	if err := w.Abort(); err != nil || tier.Stats().Reserved != 0 || exists(hotPath) {
		t.Fatal("abort", err)
	}
	w, _ = tier.Create(ref, 2*mib)
	if _, err := w.WriteAt([]byte{1, 2}, 2*mib-1); !errors.Is(err, ErrOverflow) {
		t.Fatalf("overflow: %v", err)
	}
	if _, err := w.Write([]byte{1}); !errors.Is(err, ErrFinished) || tier.Stats().Reserved != 0 {
		t.Fatalf("write after overflow: %v", err)
	}
}

func TestCreateErrors(t *testing.T) {
	tier := newTier(t, Config{Capacity: 4 * mib})
	_, err := tier.Create(testRef(1), 4*mib+1)
	if !errors.Is(err, ErrTooLarge) || !errors.Is(err, ErrNoSpace) {
		t.Fatalf("too large: %v", err)
	}
	if _, err := tier.CreateUpload(4*mib + 1); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("upload too large: %v", err)
	}
	if _, err := tier.Create(testRef(1), -1); err == nil {
		t.Fatal("negative size accepted")
	}
	w, err := tier.Create(testRef(1), mib)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tier.Create(testRef(1), mib); !errors.Is(err, ErrExists) {
		t.Fatalf("pending: %v", err)
	}
	w.Write(make([]byte, mib))
	w.Seal()
	if _, err := tier.Create(testRef(1), mib); !errors.Is(err, ErrExists) {
		t.Fatalf("hot: %v", err)
	}
}

// When what is left cannot be evicted, Create fails with ErrNoSpace and
// leaves no file and no accounting behind.
func TestNoSpaceLeavesNothing(t *testing.T) {
	tier := newTier(t, Config{Capacity: 10 * mib})
	if _, err := tier.CreateUpload(7 * mib); err != nil {
		t.Fatal(err)
	}
	makeHot(t, tier, testRef(1), content(testRef(1), 2*mib))
	before := tier.Stats()
	_, err := tier.Create(testRef(2), 4*mib)
	if !errors.Is(err, ErrNoSpace) || errors.Is(err, ErrTooLarge) {
		t.Fatalf("create: %v", err)
	}
	if exists(filepath.Join(tier.Dir(), testRef(2).String())) {
		t.Fatal("failed create left a visible file")
	}
	after := tier.Stats()
	if after.Reserved != 0 || after.Used > after.Capacity || after.Uploads != before.Uploads {
		t.Fatalf("stats after failure %+v", after)
	}
}

func TestStaleCleanupAtOpen(t *testing.T) {
	dir := shmDir(t)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	stale := []string{testRef(1).String(), "tmp-3", "pool-9", "up-0123abcd"}
	for _, name := range append(stale, "notes.txt") {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("old"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tier := newTier(t, Config{Dir: dir})
	for _, name := range stale {
		if exists(filepath.Join(dir, name)) {
			t.Errorf("stale %s survived Open", name)
		}
	}
	if !exists(filepath.Join(dir, "notes.txt")) {
		t.Error("Open removed a file the tier could not have made")
	}
	if tier.Has(testRef(1)) {
		t.Error("stale copy adopted")
	}
	if _, err := Open(Config{Dir: dir, Capacity: mib}); !errors.Is(err, ErrBusy) {
		t.Fatalf("second tier on the same dir: %v", err)
	}
}

func TestCloseRemovesFiles(t *testing.T) {
	dir := shmDir(t)
	tier, err := Open(Config{Dir: dir, Capacity: 16 * mib})
	if err != nil {
		t.Fatal(err)
	}
	data := content(testRef(1), mib)
	makeHot(t, tier, testRef(1), data)
	makeHot(t, tier, testRef(2), data)
	if err := tier.Remove(testRef(2)); err != nil || tier.Stats().PoolFiles != 1 {
		t.Fatal("remove did not pool", err)
	}
	if _, err := tier.CreateUpload(mib); err != nil {
		t.Fatal(err)
	}
	path, size, _ := tier.Acquire(testRef(1))
	v, err := OpenView(path, size)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if err := tier.Close(); err != nil || tier.Close() != nil {
		t.Fatal("close", err)
	}
	if exists(dir) {
		t.Fatal("Close left the directory")
	}
	if !bytes.Equal(v.Bytes(), data) {
		t.Fatal("view changed after Close")
	}
	again, err := Open(Config{Dir: dir, Capacity: mib})
	if err != nil {
		t.Fatal("reopen after close", err)
	}
	again.Close()
}

func TestUseAfterClose(t *testing.T) {
	tier, err := Open(Config{Dir: shmDir(t), Capacity: 16 * mib})
	if err != nil {
		t.Fatal(err)
	}
	makeHot(t, tier, testRef(1), content(testRef(1), mib))
	w, _ := tier.Create(testRef(3), mib)
	tier.Close()
	w.Write(make([]byte, mib))
	if err := w.Seal(); !errors.Is(err, ErrClosed) {
		t.Fatalf("seal after close: %v", err)
	}
	if _, err := tier.Create(testRef(4), 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("create after close: %v", err)
	}
	if _, _, err := tier.Acquire(testRef(1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("acquire after close: %v", err)
	}
	if _, err := tier.CreateUpload(1); !errors.Is(err, ErrClosed) {
		t.Fatalf("upload after close: %v", err)
	}
}

func TestConfig(t *testing.T) {
	if _, err := Open(Config{Capacity: mib}); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("no dir: %v", err)
	}
	if _, err := Open(Config{Dir: shmDir(t), Capacity: -1}); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("negative capacity: %v", err)
	}
	c := Config{Dir: "/dev/shm/x", Capacity: 8 * mib}.withDefaults()
	if c.UploadTTL != DefaultUploadTTL || c.RecycleBytes != 2*mib || c.Now == nil {
		t.Fatalf("defaults %+v", c)
	}
	d := DefaultConfig("/dev/shm/x")
	if d.Capacity != DefaultCapacity("/dev/shm/x") || d.RecycleBytes != d.Capacity/4 || d.validate() != nil {
		t.Fatalf("DefaultConfig %+v", d)
	}
}

func TestDefaultCapacity(t *testing.T) {
	dir := filepath.Join(shmDir(t), "not", "yet")
	got := DefaultCapacity(dir)
	limit := min(memTotal(), fsSize("/dev/shm")) / 4
	if got <= 0 || got != limit {
		t.Fatalf("DefaultCapacity = %d, want %d", got, limit)
	}
	d2 := shmDir(t)
	t2, err := Open(Config{Dir: d2})
	if err != nil {
		t.Fatal(err)
	}
	defer t2.Close()
	if t2.Stats().Capacity != DefaultCapacity(d2) {
		t.Fatalf("capacity %d", t2.Stats().Capacity)
	}
}

func TestMountOptions(t *testing.T) {
	fstype, options := mountOptions(filepath.Join(shmDir(t), "x"))
	if fstype == "" || options == "" {
		t.Skip("no /proc/self/mounts")
	}
	if isTmpfs("/dev/shm") && fstype != "tmpfs" {
		t.Fatalf("/dev/shm is tmpfs, mounts say %q", fstype)
	}
	if !within("/dev/shm/a", "/dev/shm") || within("/dev/shmx", "/dev/shm") || !within("/x", "/") {
		t.Fatal("within")
	}
}
