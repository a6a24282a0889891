package shm

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// View is a client's read-only mapping of a hot copy: Bytes is the file's
// memory, not a copy. The view holds a shared lock on the file, which keeps
// the node from reusing its pages; eviction only unlinks the file, so the
// bytes stay valid and unchanged until Close.
type View struct {
	mu     sync.Mutex
	f      *os.File
	data   []byte
	closed bool
}

// OpenView maps the hot copy at path, which the node's Acquire returned
// with its size. ErrStale means the file was evicted, recycled or replaced
// since: ask the node again (or read the object another way).
func OpenView(path string, size int64) (*View, error) {
	return openView(path, size, true)
}

func openView(path string, size int64, populate bool) (*View, error) {
	f, err := openLocked(path, size)
	if err != nil {
		return nil, err
	}
	data, err := mapFile(f, size, unix.PROT_READ, populate)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &View{f: f, data: data}, nil
}

// ReadHot copies the hot copy at path (size bytes, as Acquire returned)
// into dst[:size] with pread, under the same lock and checks as OpenView.
// One copy into memory the caller has already touched is cheaper than
// mapping where page faults are costly, as on the VMs measured in doc.go;
// a View wins when the caller keeps it open and reads it more than once.
func ReadHot(path string, size int64, dst []byte) error {
	if int64(len(dst)) < size {
		return fmt.Errorf("%w: %d-byte buffer for a %d-byte copy", ErrOverflow, len(dst), size)
	}
	f, err := openLocked(path, size)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.ReadAt(dst[:size], 0); err != nil && !(errors.Is(err, io.EOF) && size == 0) {
		return fmt.Errorf("read hot copy: %w", err)
	}
	return nil
}

// openLocked opens path and takes the shared lock, checking that it is the
// hot copy the node named.
func openLocked(path string, size int64) (*os.File, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %w", ErrStale, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open hot copy: %w", err)
	}
	if err := lockChecked(f, path, size); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// lockChecked takes the shared lock on f and checks that f is still the
// file at path with the size the node named. Once both hold, the node
// cannot reuse the file: it needs the exclusive lock first.
func lockChecked(f *os.File, path string, size int64) error {
	ok, err := tryLock(f, lockSh)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: %s is being recycled", ErrStale, path)
	}
	if err := sameFile(f, path, size); err != nil {
		unlock(f)
		return err
	}
	return nil
}

// sameFile reports ErrStale unless f is the file now at path and has size
// bytes.
func sameFile(f *os.File, path string, size int64) error {
	fst, err := f.Stat()
	if err != nil {
		return fmt.Errorf("view: %w", err)
	}
	pst, err := os.Stat(path)
	if err != nil || !os.SameFile(fst, pst) {
		return fmt.Errorf("%w: %s was replaced", ErrStale, path)
	}
	if fst.Size() != size {
		return fmt.Errorf("%w: %s is %d bytes, not %d", ErrStale, path, fst.Size(), size)
	}
	return nil
}

// Bytes is the mapped object, valid until Close; empty for an empty
// object and after Close. Writing to it faults.
func (v *View) Bytes() []byte {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.data
}

// Size is the object's size in bytes.
func (v *View) Size() int64 { return int64(len(v.Bytes())) }

// Close unmaps the file, releases its lock and closes it. Idempotent.
func (v *View) Close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return nil
	}
	v.closed = true
	err := unmap(v.data)
	v.data = []byte{}
	if cerr := v.f.Close(); err == nil { // closing releases the flock
		err = cerr
	}
	return err
}
