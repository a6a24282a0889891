package shm

import (
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// Mapping is a client's writable mapping of an upload file, for callers
// that produce the object straight into memory. Close it before asking the
// node to seal: the node refuses to seal a file a client still holds.
type Mapping struct {
	mu     sync.Mutex
	f      *os.File
	data   []byte
	closed bool
}

// openUpload opens the upload at path for writing and locks it.
func openUpload(path string) (*os.File, int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: open: %w", ErrBadUpload, err)
	}
	size, err := lockUpload(f, path)
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, size, nil
}

// lockUpload takes the shared lock that tells the node a client is at
// work in the upload, and checks that f is still the file at path: one
// the node dropped between the open and the lock may already be in the
// pool, and must not be written. It returns the file's size.
func lockUpload(f *os.File, path string) (int64, error) {
	ok, err := tryLock(f, lockSh)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, fmt.Errorf("%w: %s is being sealed or dropped", ErrBusy, path)
	}
	st, err := stillAt(f, path)
	if err != nil {
		unlock(f)
		return 0, err
	}
	return st.Size(), nil
}

// stillAt returns f's FileInfo if f is the file now at path.
func stillAt(f *os.File, path string) (os.FileInfo, error) {
	fst, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if pst, err := os.Stat(path); err != nil || !os.SameFile(fst, pst) {
		return nil, fmt.Errorf("%w: %s was dropped", ErrBadUpload, path)
	}
	return fst, nil
}

// MapUpload maps the upload at path, which must be size bytes, read-write.
func MapUpload(path string, size int64) (*Mapping, error) {
	f, n, err := openUpload(path)
	if err != nil {
		return nil, err
	}
	if n != size {
		f.Close()
		return nil, fmt.Errorf("%w: %s is %d bytes, not %d", ErrBadUpload, path, n, size)
	}
	data, err := mapFile(f, size, unix.PROT_READ|unix.PROT_WRITE, true)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Mapping{f: f, data: data}, nil
}

// Bytes is the upload's memory, valid until Close; empty after it.
func (m *Mapping) Bytes() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.data
}

// Close unmaps the file and closes it, releasing its lock. Idempotent.
func (m *Mapping) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	err := unmap(m.data)
	m.data = []byte{}
	if cerr := m.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// WriteUpload fills the upload at path from r, which must hold exactly the
// upload's size in bytes, with pwrite: the fastest way to fill shared
// memory on the machines measured (see doc.go). A bytes.Reader or
// bytes.Buffer is written in one call, without an intermediate copy.
func WriteUpload(path string, r io.Reader) (int64, error) {
	f, size, err := openUpload(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	o := &offsetWriter{w: f, limit: size}
	n, err := copyIn(o, r)
	if err != nil {
		return n, noSpace(fmt.Errorf("write upload: %w", err))
	}
	if n != size {
		return n, fmt.Errorf("%w: reader gave %d of %d bytes: %w", ErrBadUpload, n, size, io.ErrUnexpectedEOF)
	}
	return n, nil
}
