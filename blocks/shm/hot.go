package shm

import (
	"fmt"

	"github.com/emerge-dev/emerge/blocks"
)

// Create reserves size bytes for a hot copy of ref, evicting least recently
// used copies if needed, and returns a Writer on a private file. The copy
// becomes visible, under its ref's name, only when the Writer is sealed.
// Errors: ErrTooLarge (size > Capacity), ErrNoSpace, ErrExists, ErrClosed.
func (t *Tier) Create(ref blocks.Ref, size int64) (*Writer, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.admit(size); err != nil {
		return nil, err
	}
	if _, ok := t.entries[ref]; ok || t.pending[ref] != nil {
		return nil, fmt.Errorf("%w: %s", ErrExists, ref.Short())
	}
	pf, err := t.room(size)
	if err != nil {
		return nil, err
	}
	name := t.seqName(tmpPrefix)
	f, err := t.openFile(name, size, pf, false)
	if err != nil {
		t.trimPool()
		return nil, err
	}
	t.reserved += size
	t.trimPool()
	w := &Writer{t: t, ref: ref, f: f, name: name, size: size}
	t.pending[ref] = w
	return w, nil
}

// admit checks what every reservation needs; t.mu is held.
func (t *Tier) admit(size int64) error {
	switch {
	case t.closed:
		return ErrClosed
	case size < 0:
		return fmt.Errorf("%w: negative size %d", ErrOverflow, size)
	case size > t.cfg.Capacity:
		return fmt.Errorf("%w: %d > %d bytes", ErrTooLarge, size, t.cfg.Capacity)
	}
	return nil
}

// seal publishes w's file under its ref's name; w.f is closed.
func (t *Tier) seal(w *Writer) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	delete(t.pending, w.ref)
	t.reserved -= w.size
	if err := t.rename(w.name, hotName(w.ref)); err != nil {
		t.retire(w.name, w.size)
		t.trimPool()
		return err
	}
	t.addEntry(w.ref, w.size)
	return nil
}

// abort releases w's reservation and retires its file; w.f is closed. The
// file is recycled only if no write of the caller's can still land in it.
func (t *Tier) abort(w *Writer, recycle bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	delete(t.pending, w.ref)
	t.reserved -= w.size
	if recycle {
		t.retire(w.name, w.size)
		t.trimPool()
	} else {
		_ = t.removeFile(w.name)
	}
}

func (t *Tier) rename(from, to string) error {
	if err := renameNoReplace(t.path(from), t.path(to)); err != nil {
		return fmt.Errorf("publish %s: %w", to, err)
	}
	return nil
}

func (t *Tier) addEntry(ref blocks.Ref, size int64) {
	t.hot += size
	t.entries[ref] = t.lru.PushFront(&entry{ref: ref, size: size})
}

// Acquire returns the path and size of ref's hot copy for a local client to
// map with OpenView, and marks it most recently used. It does not pin:
// the client's view holds its own lock, and eviction only unlinks a file a
// client holds, so nothing needs releasing. ErrNotFound if not hot.
func (t *Tier) Acquire(ref blocks.Ref) (path string, size int64, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return "", 0, ErrClosed
	}
	el, ok := t.entries[ref]
	if !ok {
		return "", 0, fmt.Errorf("%w: %s", ErrNotFound, ref.Short())
	}
	t.lru.MoveToFront(el)
	return t.path(hotName(ref)), el.Value.(*entry).size, nil
}

// Has reports whether ref has a sealed hot copy, without touching its
// place in the LRU order.
func (t *Tier) Has(ref blocks.Ref) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.entries[ref]
	return ok
}

// Remove drops ref's hot copy (the object was deleted, say). Views clients
// hold stay valid. A Writer open for ref is not affected. ErrNotFound if
// not hot.
func (t *Tier) Remove(ref blocks.Ref) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	el, ok := t.entries[ref]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotFound, ref.Short())
	}
	e := t.lru.Remove(el).(*entry)
	delete(t.entries, ref)
	t.hot -= e.size
	t.retire(hotName(ref), e.size)
	t.trimPool()
	return nil
}
