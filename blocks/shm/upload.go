package shm

import (
	"fmt"
	"os"
	"time"

	"github.com/emerge-dev/emerge/blocks"
)

// Upload is a file a local client fills instead of sending bytes over a
// socket. The node gives the client Path and Size; the client fills the
// file (WriteUpload or MapUpload) and asks the node to seal it by Name.
type Upload struct {
	Name string // the upload's name inside Dir
	Path string // the file the client opens
	Size int64  // its size, fixed
}

type upload struct {
	size    int64
	created time.Time
	sealed  bool
}

// CreateUpload makes an upload file of size bytes (pages allocated, so a
// full filesystem fails here, not in the client) that counts against
// Capacity until committed or dropped. An upload not sealed within
// UploadTTL is removed by Sweep. Errors as for Create.
func (t *Tier) CreateUpload(size int64) (Upload, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.admit(size); err != nil {
		return Upload{}, err
	}
	pf, err := t.room(size)
	if err != nil {
		return Upload{}, err
	}
	defer t.trimPool()
	name := uploadName()
	f, err := t.openFile(name, size, pf, true)
	if err != nil {
		return Upload{}, err
	}
	f.Close()
	t.uploaded += size
	t.uploads[name] = &upload{size: size, created: t.cfg.Now()}
	return Upload{Name: name, Path: t.path(name), Size: size}, nil
}

// SealUpload ends the client's part: it fails with ErrBusy while a client
// still holds the file (WriteUpload and MapUpload hold it until they
// return or are closed), makes it read-only, and returns it open for the
// node to hash and persist. The caller closes the file, then calls
// CommitUpload or DropUpload; a sealed upload never expires.
func (t *Tier) SealUpload(name string) (*os.File, int64, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	u, err := t.upload(name)
	if err != nil {
		return nil, 0, err
	}
	if u.sealed {
		return nil, 0, fmt.Errorf("%w: %s already sealed", ErrBadUpload, name)
	}
	f, err := os.Open(t.path(name))
	if err != nil {
		return nil, 0, fmt.Errorf("seal upload: %w", err)
	}
	if err := sealFile(f, u.size); err != nil {
		f.Close()
		return nil, 0, err
	}
	u.sealed = true
	return f, u.size, nil
}

// sealFile checks that no client holds f and that it kept its size, then
// makes it read-only so no client opens it for writing again.
func sealFile(f *os.File, size int64) error {
	ok, err := lockSettled(f)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: a client still holds upload %s", ErrBusy, f.Name())
	}
	defer unlock(f)
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("seal upload: %w", err)
	}
	if st.Size() != size {
		return fmt.Errorf("%w: %s is %d bytes, created with %d", ErrBadUpload, f.Name(), st.Size(), size)
	}
	return f.Chmod(modeSealed)
}

// CommitUpload turns a sealed upload into ref's hot copy by renaming it: no
// byte is copied. If ref is already hot (or being made hot) the upload is
// dropped instead: the content behind a ref is always the same.
func (t *Tier) CommitUpload(name string, ref blocks.Ref) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	u, err := t.upload(name)
	if err != nil {
		return err
	}
	if !u.sealed {
		return fmt.Errorf("%w: %s committed before SealUpload", ErrBadUpload, name)
	}
	delete(t.uploads, name)
	t.uploaded -= u.size
	defer t.trimPool()
	if _, ok := t.entries[ref]; ok || t.pending[ref] != nil {
		t.retire(name, u.size)
		return nil
	}
	if err := t.rename(name, hotName(ref)); err != nil {
		t.retire(name, u.size)
		return err
	}
	t.addEntry(ref, u.size)
	return nil
}

// DropUpload removes an upload, sealed or not.
func (t *Tier) DropUpload(name string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	u, err := t.upload(name)
	if err != nil {
		return err
	}
	t.dropUpload(name, u)
	t.trimPool()
	return nil
}

func (t *Tier) dropUpload(name string, u *upload) {
	delete(t.uploads, name)
	t.uploaded -= u.size
	t.retire(name, u.size)
}

func (t *Tier) upload(name string) (*upload, error) {
	if t.closed {
		return nil, ErrClosed
	}
	u, ok := t.uploads[name]
	if !ok {
		return nil, fmt.Errorf("%w: no upload %q", ErrBadUpload, name)
	}
	return u, nil
}

// Sweep removes uploads left unsealed longer than UploadTTL (a client that
// died or gave up) and returns how many. The node calls it periodically,
// every minute say.
func (t *Tier) Sweep() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	now, n := t.cfg.Now(), 0
	for name, u := range t.uploads {
		if !u.sealed && now.Sub(u.created) >= t.cfg.UploadTTL {
			t.dropUpload(name, u)
			n++
		}
	}
	t.trimPool()
	return n
}
