package shm

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
	"time"
)

func TestUploadWriteCommit(t *testing.T) {
	tier := newTier(t, Config{Capacity: 16 * mib})
	ref := testRef(1)
	data := content(ref, 3*mib+1)
	up, err := tier.CreateUpload(int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if st := tier.Stats(); st.Uploads != up.Size || st.Used != up.Size {
		t.Fatalf("upload not accounted: %+v", st)
	}
	if n, err := WriteUpload(up.Path, bytes.NewReader(data)); err != nil || n != up.Size {
		t.Fatal(n, err)
	}
	f, size, err := tier.SealUpload(up.Name)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(f)
	f.Close()
	if size != up.Size || !bytes.Equal(got, data) {
		t.Fatal("sealed upload differs")
	}
	if _, _, err := tier.SealUpload(up.Name); !errors.Is(err, ErrBadUpload) {
		t.Fatalf("second seal: %v", err)
	}
	if err := tier.CommitUpload(up.Name, ref); err != nil {
		t.Fatal(err)
	}
	if exists(up.Path) || !bytes.Equal(readHot(t, tier, ref), data) {
		t.Fatal("commit did not make the upload the hot copy")
	}
	if st := tier.Stats(); st.Uploads != 0 || st.Hot != up.Size || st.Used != up.Size {
		t.Fatalf("stats after commit %+v", st)
	}
}

func TestUploadMapping(t *testing.T) {
	tier := newTier(t, Config{})
	ref := testRef(1)
	data := content(ref, 2*mib)
	up, _ := tier.CreateUpload(int64(len(data)))
	if _, err := MapUpload(up.Path, up.Size+1); !errors.Is(err, ErrBadUpload) {
		t.Fatalf("wrong size: %v", err)
	}
	m, err := MapUpload(up.Path, up.Size)
	if err != nil {
		t.Fatal(err)
	}
	copy(m.Bytes(), data)
	if _, _, err := tier.SealUpload(up.Name); !errors.Is(err, ErrBusy) {
		t.Fatalf("seal while mapped: %v", err)
	}
	if m.Close() != nil || m.Close() != nil || len(m.Bytes()) != 0 {
		t.Fatal("mapping close")
	}
	f, _, err := tier.SealUpload(up.Name)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := MapUpload(up.Path, up.Size); os.Geteuid() != 0 && err == nil {
		t.Fatal("a sealed upload was opened for writing")
	}
	if err := tier.CommitUpload(up.Name, ref); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readHot(t, tier, ref), data) {
		t.Fatal("mapped upload reads wrong")
	}
}

func TestUploadErrors(t *testing.T) {
	tier := newTier(t, Config{})
	up, _ := tier.CreateUpload(mib)
	if _, err := WriteUpload(up.Path, bytes.NewReader(make([]byte, mib-1))); !errors.Is(err, ErrBadUpload) ||
		!errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short reader: %v", err)
	}
	if _, err := WriteUpload(up.Path, bytes.NewReader(make([]byte, mib+1))); !errors.Is(err, ErrOverflow) {
		t.Fatalf("long reader: %v", err)
	}
	if err := tier.CommitUpload(up.Name, testRef(1)); !errors.Is(err, ErrBadUpload) {
		t.Fatalf("commit before seal: %v", err)
	}
	if err := os.Truncate(up.Path, 2*mib); err != nil { // a misbehaving client
		t.Fatal(err)
	}
	if _, _, err := tier.SealUpload(up.Name); !errors.Is(err, ErrBadUpload) {
		t.Fatalf("seal of a resized upload: %v", err)
	}
	os.Truncate(up.Path, mib) // back to its accounted size for the cleanup check
	if err := tier.DropUpload(up.Name); err != nil || exists(up.Path) {
		t.Fatal("drop", err)
	}
	for _, err := range []error{tier.DropUpload(up.Name), tier.CommitUpload("up-nope", testRef(1))} {
		if !errors.Is(err, ErrBadUpload) {
			t.Fatalf("unknown upload: %v", err)
		}
	}
	if _, err := WriteUpload(up.Path, bytes.NewReader(nil)); !errors.Is(err, ErrBadUpload) {
		t.Fatalf("write to a dropped upload: %v", err)
	}
}

// Committing an upload of a ref that is already hot keeps the existing copy
// and drops the upload.
func TestCommitExisting(t *testing.T) {
	tier := newTier(t, Config{})
	ref := testRef(1)
	data := content(ref, mib)
	makeHot(t, tier, ref, data)
	up, _ := tier.CreateUpload(mib)
	WriteUpload(up.Path, bytes.NewReader(data))
	f, _, _ := tier.SealUpload(up.Name)
	f.Close()
	if err := tier.CommitUpload(up.Name, ref); err != nil {
		t.Fatal(err)
	}
	if st := tier.Stats(); st.Uploads != 0 || st.Hot != mib || st.Entries != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// Uploads hold their bytes until committed or dropped: they are never
// evicted to make room.
func TestUploadsNotEvicted(t *testing.T) {
	tier := newTier(t, Config{Capacity: 4 * mib})
	up, _ := tier.CreateUpload(3 * mib)
	if _, err := tier.CreateUpload(2 * mib); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("second upload: %v", err)
	}
	if !exists(up.Path) {
		t.Fatal("upload evicted")
	}
}

func TestSweep(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	tier := newTier(t, Config{UploadTTL: 10 * time.Minute, Now: func() time.Time { return now }})
	old1, _ := tier.CreateUpload(mib)
	old2, _ := tier.CreateUpload(mib)
	sealed, _ := tier.CreateUpload(mib)
	f, _, err := tier.SealUpload(sealed.Name)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	now = now.Add(5 * time.Minute)
	young, _ := tier.CreateUpload(mib)
	if n := tier.Sweep(); n != 0 {
		t.Fatalf("swept %d young uploads", n)
	}
	now = now.Add(6 * time.Minute)
	if n := tier.Sweep(); n != 2 {
		t.Fatalf("swept %d, want 2", n)
	}
	if exists(old1.Path) || exists(old2.Path) || !exists(young.Path) || !exists(sealed.Path) {
		t.Fatal("swept the wrong uploads")
	}
	if st := tier.Stats(); st.Uploads != 2*mib {
		t.Fatalf("stats %+v", st)
	}
}

// A client that opened an upload just before the node dropped it into the
// pool must not write it: the file may soon hold another object.
func TestUploadDroppedBeforeLock(t *testing.T) {
	tier := newTier(t, Config{})
	up, _ := tier.CreateUpload(mib)
	f, err := os.OpenFile(up.Path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := tier.DropUpload(up.Name); err != nil || tier.Stats().PoolFiles != 1 {
		t.Fatal("drop did not pool", err)
	}
	if _, err := lockUpload(f, up.Path); !errors.Is(err, ErrBadUpload) {
		t.Fatalf("lock of a dropped upload: %v", err)
	}
}

// While a client holds an upload, dropping it unlinks it instead of
// pooling it.
func TestDropHeldUpload(t *testing.T) {
	tier := newTier(t, Config{})
	up, _ := tier.CreateUpload(mib)
	m, err := MapUpload(up.Path, up.Size)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := tier.DropUpload(up.Name); err != nil || tier.Stats().PoolFiles != 0 || exists(up.Path) {
		t.Fatal("a held upload was pooled", err)
	}
	m.Bytes()[0] = 1 // the mapping is still valid memory
}
