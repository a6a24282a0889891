package shm

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// File modes: a file clients may write (an unsealed upload, and the node's
// own temp and pool files) and a sealed one, which nobody should write.
const (
	modeWritable = 0o600
	modeSealed   = 0o400
)

// Lock kinds: clients hold lockSh on every file they read or write; the node
// takes lockEx only to prove that no client holds a file it wants to reuse.
const (
	lockSh = unix.LOCK_SH
	lockEx = unix.LOCK_EX
)

// tryLock takes a non-blocking flock of how (LOCK_SH or LOCK_EX). false
// means another open file description holds a conflicting lock.
func tryLock(f *os.File, how int) (bool, error) {
	err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.EWOULDBLOCK):
		return false, nil
	}
	return false, fmt.Errorf("flock %s: %w", f.Name(), err)
}

func unlock(f *os.File) { _ = unix.Flock(int(f.Fd()), unix.LOCK_UN) }

// staleLockWait bounds how long lockSettled waits out a shared lock that is
// not a client's: a reader that opened a file under its old name just
// before the node recycled it (into the pool, then into an upload) takes
// its shared lock, sees the file moved and lets go (lockChecked,
// lockUpload) within microseconds. A lock held longer is a client's.
const staleLockWait = 20 * time.Millisecond

// lockSettled is tryLock(f, lockEx), tried again for up to staleLockWait
// while another holder has the file, so that a stale reader's momentary
// lock is not mistaken for a client at work.
func lockSettled(f *os.File) (bool, error) {
	deadline := time.Now().Add(staleLockWait)
	for {
		ok, err := tryLock(f, lockEx)
		if ok || err != nil || time.Now().After(deadline) {
			return ok, err
		}
		time.Sleep(time.Millisecond)
	}
}

// setSize sets f's length. With allocate it also allocates the pages up
// front, so that a full filesystem shows here as ErrNoSpace rather than
// later, for a client filling through mmap, as SIGBUS. Allocating cost
// 0-15% on a fresh file's fill (BenchmarkFillMethods, noisy) and nothing
// on a recycled one, so only uploads, which clients may map, are
// allocated: a Writer's pwrite reports a full filesystem as an error.
func setSize(f *os.File, n int64, allocate bool) error {
	if err := f.Truncate(n); err != nil {
		return noSpace(fmt.Errorf("truncate %s: %w", f.Name(), err))
	}
	if n == 0 || !allocate {
		return nil
	}
	err := unix.Fallocate(int(f.Fd()), 0, 0, n)
	if err == nil || errors.Is(err, unix.EOPNOTSUPP) {
		return nil
	}
	return noSpace(fmt.Errorf("fallocate %s: %w", f.Name(), err))
}

// noSpace marks a filesystem-full error with ErrNoSpace.
func noSpace(err error) error {
	if errors.Is(err, unix.ENOSPC) {
		return fmt.Errorf("%w: %w", ErrNoSpace, err)
	}
	return err
}

// isTmpfs reports whether dir lives on tmpfs (shared memory).
func isTmpfs(dir string) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && st.Type == unix.TMPFS_MAGIC
}

// mapFile maps n bytes of f shared, with MAP_POPULATE when populate:
// the page tables are built in one system call instead of one fault per
// page, which measured faster for views and fills alike (doc.go).
func mapFile(f *os.File, n int64, prot int, populate bool) ([]byte, error) {
	if n == 0 {
		return []byte{}, nil
	}
	if n != int64(int(n)) {
		return nil, fmt.Errorf("map %s: %d bytes do not fit the address space", f.Name(), n)
	}
	flags := unix.MAP_SHARED
	if populate {
		flags |= unix.MAP_POPULATE
	}
	b, err := unix.Mmap(int(f.Fd()), 0, int(n), prot, flags)
	if err != nil {
		return nil, fmt.Errorf("mmap %s: %w", f.Name(), err)
	}
	return b, nil
}

func unmap(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	return unix.Munmap(b)
}

// renameNoReplace renames from to to, failing if to exists: a published
// name is never silently replaced.
func renameNoReplace(from, to string) error {
	err := unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		if _, serr := os.Lstat(to); serr == nil {
			return fmt.Errorf("rename %s: %w", to, os.ErrExist)
		}
		return os.Rename(from, to)
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	return nil
}
