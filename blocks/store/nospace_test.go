package store

import (
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
)

// mountTmpfs mounts a tmpfs of the given size (mount(8) syntax) on a fresh
// directory and unmounts it at cleanup. It skips unless root.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// TestDiskFull fills a 24 MiB filesystem until the store refuses data and
// checks that the refusal is ErrNoSpace, that no half object is visible,
// that everything committed before stays readable, and that deleting frees
// room for new data.
func TestDiskFull(t *testing.T) {
	clock := newTestClock()
	cfg := Config{
		Dir:              mountTmpfs(t, "24m"),
		ValueLogFileSize: 1 << 20,
		MemTableSize:     1 << 20,
		BlockCacheSize:   1 << 20,
		GCInterval:       -1,
		Clock:            clock.Now,
	} // DiskReserve defaults to 2×1 + 4×1 = 6 MiB
	s := openStore(t, cfg)
	rng := newRand(t)
	var done []testObject
	var fullErr error
	for i := 0; i < 1000 && fullErr == nil; i++ {
		o := newObject(t, randomBlocks(rng, 4, 1000), clock.Advance(time.Second))
		if fullErr = storeObject(s, o); fullErr == nil {
			done = append(done, o)
		} else {
			checkInvisible(t, s, o)
		}
	}
	if !errors.Is(fullErr, blocks.ErrNoSpace) {
		t.Fatalf("filling the disk ended with %v, want ErrNoSpace", fullErr)
	}
	t.Logf("%d objects (%d KiB each) stored before: %v", len(done), done[0].m.Size>>10, fullErr)
	if len(done) < 10 {
		t.Fatalf("only %d objects fit in 24 MiB", len(done))
	}
	for _, o := range done {
		readObject(t, s, o)
	}
	s.Close()
	s = openStore(t, cfg)
	for _, o := range done {
		readObject(t, s, o)
	}
	freeAndRetry(t, s, cfg, done, clock)
}

// storeObject is putObject returning the first error.
func storeObject(s *Store, o testObject) error {
	s.Pin(o.m.Blocks...)
	defer s.Unpin(o.m.Blocks...)
	for _, b := range o.blocks {
		if err := s.PutBlock(blocks.Sum(b), b); err != nil {
			return err
		}
	}
	return s.Commit(o.ref, o.m, UseOwner)
}

func checkInvisible(t *testing.T, s *Store, o testObject) {
	t.Helper()
	_, _, err := s.Manifest(o.ref)
	wantErr(t, err, blocks.ErrNotFound, "manifest of an object that failed to store")
	if infos, _ := s.List(blocks.Ref{}, MaxList); len(infos) > 0 {
		for _, info := range infos {
			if info.Ref == o.ref {
				t.Fatal("a failed object is listed")
			}
		}
	}
}

// freeAndRetry deletes half the objects, reopens the store (Close compacts
// level 0, which tells value-log GC what is garbage), reclaims space and
// stores a new object.
func freeAndRetry(t *testing.T, s *Store, cfg Config, done []testObject, clock *testClock) {
	for _, o := range done[:len(done)/2] {
		if _, err := s.Delete(o.ref, clock.Now()); err != nil {
			t.Fatalf("Delete on a full disk: %v", err)
		}
	}
	before, _ := freeBytes(cfg.Dir)
	s.Close()
	s = openStore(t, cfg)
	if err := s.ReclaimSpace(); err != nil {
		t.Fatalf("ReclaimSpace: %v", err)
	}
	after, _ := freeBytes(cfg.Dir)
	t.Logf("free space %d KiB -> %d KiB after deleting half and reclaiming", before>>10, after>>10)
	o := newObject(t, randomBlocks(newRand(t), 2, 77), clock.Advance(time.Second))
	if err := storeObject(s, o); err != nil {
		t.Fatalf("storing after deleting half: %v", err)
	}
	readObject(t, s, o)
	for _, o := range done[len(done)/2:] {
		readObject(t, s, o)
	}
}
