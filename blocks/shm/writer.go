package shm

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/emerge-dev/emerge/blocks"
)

// Writer fills a hot copy before it becomes visible. WriteAt may be called
// from several goroutines at once; Write and ReadFrom write sequentially
// from offset 0 and must not race each other. Any error from a write aborts
// the Writer. Call Seal once every write has returned, or Abort (likewise
// not racing writes); Abort after Seal does nothing, so `defer w.Abort()`
// is the usual pattern.
type Writer struct {
	t    *Tier
	ref  blocks.Ref
	f    *os.File
	name string
	size int64

	off     int64        // next offset for Write and ReadFrom
	written atomic.Int64 // bytes accepted so far, for Seal's check

	mu   sync.Mutex
	done bool
	err  error // why the Writer ended early
}

// Ref is the ref the Writer makes hot.
func (w *Writer) Ref() blocks.Ref { return w.ref }

// Size is the size given to Create.
func (w *Writer) Size() int64 { return w.size }

// WriteAt writes p at off. Writing past Size is ErrOverflow.
func (w *Writer) WriteAt(p []byte, off int64) (int, error) {
	if err := w.state(); err != nil {
		return 0, err
	}
	if off < 0 || off > w.size || int64(len(p)) > w.size-off {
		return 0, w.fail(fmt.Errorf("%w: %d bytes at %d, size %d", ErrOverflow, len(p), off, w.size))
	}
	n, err := w.f.WriteAt(p, off)
	w.written.Add(int64(n))
	if err != nil {
		return n, w.fail(noSpace(err))
	}
	return n, nil
}

// Write appends p after what Write and ReadFrom wrote before.
func (w *Writer) Write(p []byte) (int, error) {
	n, err := w.WriteAt(p, w.off)
	w.off += int64(n)
	return n, err
}

// ReadFrom copies r to EOF into the file after what was written
// sequentially before. A reader error aborts the Writer too.
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	o := &offsetWriter{w: w, off: w.off, limit: w.size}
	n, err := copyIn(o, r)
	w.off = o.off
	if err != nil {
		return n, w.fail(err)
	}
	return n, nil
}

func (w *Writer) state() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return w.finished()
	}
	return nil
}

func (w *Writer) finished() error {
	if w.err != nil {
		return fmt.Errorf("%w: %w", ErrFinished, w.err)
	}
	return ErrFinished
}

// fail aborts the Writer because of err, which it returns.
func (w *Writer) fail(err error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.done, w.err = true, err
		w.f.Close()
		w.t.abort(w, false) // other WriteAt calls may still be landing
	}
	return err
}

// Seal makes the copy visible under its ref's name, atomically. It fails
// with ErrShortWrite if fewer than Size bytes were written (overlapping
// writes are counted twice: the check catches a short fill, not every
// mistake), and then the Writer is aborted.
func (w *Writer) Seal() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return w.finished()
	}
	w.done = true
	if got := w.written.Load(); got < w.size {
		w.err = fmt.Errorf("%w: %d of %d bytes", ErrShortWrite, got, w.size)
		w.f.Close()
		w.t.abort(w, true)
		return w.err
	}
	err := w.f.Chmod(modeSealed)
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = w.t.seal(w)
	} else {
		w.t.abort(w, true)
	}
	w.err = err
	return err
}

// Abort discards the file and releases the reservation. It does nothing
// after Seal or a previous Abort.
func (w *Writer) Abort() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return nil
	}
	w.done, w.err = true, errors.New("aborted")
	w.f.Close()
	w.t.abort(w, true)
	return nil
}
