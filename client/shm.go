package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync/atomic"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/blocks/shm"
	"github.com/emerge-dev/emerge/internal/hostid"
	"github.com/emerge-dev/emerge/rpc"
)

// Shared memory. When the node runs on this machine (its host id, from
// Ping, equals this process's) and has shared memory on, Get reads the
// object's hot copy in the node's tmpfs directory instead of receiving its
// blocks, and Put and PutBytes of an object larger than one block fill an
// upload file there instead of sending blocks. Objects larger than the
// node's shared memory, a full tier or a node with shared memory off fall
// back to streaming, silently. Options.NoShm turns all of it off.
//
// Hot copies are written by the node from blocks it verified, so a reader
// over one does no hashing of its own.

var (
	// ErrNotLocal: the explicit shared-memory calls (CreateUpload) need a
	// node on this machine with shared memory on.
	ErrNotLocal = errors.New("node not on this machine, or its shared memory is off")
	// ErrShmFull: the node's shared memory is taken by other uploads. It
	// wraps ErrNoSpace. Only CreateUpload reports it; Put streams instead.
	ErrShmFull = fmt.Errorf("%w: shared memory full", ErrNoSpace)
)

// errNoShm tells the automatic paths to stream instead.
var errNoShm = errors.New("no shared memory for this object")

// staleRetries is how often a view asks the node again when the file it
// named was evicted before the client could lock it.
const staleRetries = 3

// shmState is the client's view of the node's shared memory.
type shmState struct {
	host string      // this process's host id
	off  atomic.Bool // the node said it has none, or its files are not ours to open
}

// Local reports whether the node is on this machine with shared memory
// usable: Get and Put then avoid the socket for large objects.
func (c *Client) Local() bool {
	return !c.opts.NoShm && !c.shm.off.Load() && c.node.Host != "" && c.node.Host == c.shm.host
}

func (c *Client) initShm() { c.shm.host = hostid.Get() }

// shmFallback reports whether err from a shared-memory attempt means "use
// the socket": the node cannot or will not, and nothing was done. It turns
// shared memory off for this client when that will not change.
func (c *Client) shmFallback(err error) bool {
	switch {
	case errors.Is(err, ErrTooLarge), errors.Is(err, ErrNoSpace), errors.Is(err, shm.ErrStale):
		return true
	case errors.Is(err, ErrUnsupported), errors.Is(err, fs.ErrPermission), errors.Is(err, fs.ErrNotExist):
		c.opts.Logger.Debug().Err(err).Msg("shared memory unusable; streaming")
		c.shm.off.Store(true)
		return true
	}
	return false
}

// openHot asks the node for ref's hot copy and maps it; errNoShm when the
// object should be streamed instead.
func (c *Client) openHot(ctx context.Context, ref blocks.Ref) (*shm.View, error) {
	var err error
	for try := 0; try < staleRetries; try++ {
		var m *rpc.Message
		if m, err = c.call(ctx, rpc.OpShmGet, &rpc.ShmGetReq{Ref: ref[:]}, nil); err != nil {
			break
		}
		var rep rpc.ShmFileRep
		if err = m.Decode(&rep); err != nil {
			return nil, err
		}
		if rep.Stream {
			return nil, errNoShm // the node is fetching the object: stream it, with progress
		}
		var v *shm.View
		if v, err = shm.OpenView(rep.Path, rep.Size); err == nil {
			return v, nil
		}
		if !errors.Is(err, shm.ErrStale) {
			break
		}
	}
	if c.shmFallback(err) {
		return nil, errNoShm
	}
	return nil, fmt.Errorf("get %s: %w", ref, err)
}

// View is an object's bytes for reading in place. From a local node it is
// the node's hot copy mapped read-only (Mapped reports true): no copy, and
// the bytes stay valid until Close even if the node evicts or deletes the
// object meanwhile. Otherwise it holds the object streamed into memory.
type View struct {
	hot  *shm.View
	data []byte
}

// GetView returns ref's bytes without copying them when the node is local
// and the object fits its shared memory, and streams them into memory
// otherwise. Close the view when done: a mapped view keeps the node's
// memory for the object in use.
func (c *Client) GetView(ctx context.Context, ref blocks.Ref) (*View, error) {
	if c.Local() {
		v, err := c.openHot(ctx, ref)
		if err == nil {
			return &View{hot: v, data: v.Bytes()}, nil
		}
		if !errors.Is(err, errNoShm) {
			return nil, err
		}
	}
	r, err := c.stream(ctx, ref)
	if err != nil {
		return nil, err
	}
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	return &View{data: data}, nil
}

// Bytes is the object, valid until Close; never write to it.
func (v *View) Bytes() []byte { return v.data }

// Size is the object's size in bytes.
func (v *View) Size() int64 { return int64(len(v.data)) }

// Mapped reports whether Bytes is the node's shared memory (no copy).
func (v *View) Mapped() bool { return v.hot != nil }

// Close releases the view. Safe to call twice.
func (v *View) Close() error {
	v.data = nil
	if v.hot != nil {
		return v.hot.Close()
	}
	return nil
}

// hotChunk is how much of a hot copy WriteTo hands the writer at a time.
const hotChunk = 4 << 20

// getHot opens a Reader over ref's hot copy; errNoShm to stream instead.
func (c *Client) getHot(ctx context.Context, ref blocks.Ref) (*Reader, error) {
	v, err := c.openHot(ctx, ref)
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	close(done)
	return &Reader{c: c, ref: ref, hot: v, cur: v.Bytes(), ctx: ctx, cancel: func() {}, done: done}, nil
}

// hotWriteTo writes the rest of a hot copy to w in chunks.
func (r *Reader) hotWriteTo(w io.Writer) (int64, error) {
	var total int64
	for len(r.cur) > 0 {
		n, err := w.Write(r.cur[:min(len(r.cur), hotChunk)])
		r.cur = r.cur[n:]
		r.n += int64(n)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// Local reports whether the reader reads the node's hot copy in shared
// memory rather than streamed blocks.
func (r *Reader) Local() bool { return r.hot != nil }

// inputSize is the number of bytes r will yield, when that is known without
// reading: in-memory readers and regular files.
func inputSize(r io.Reader) (int64, bool) {
	switch v := r.(type) {
	case *bytes.Reader:
		return int64(v.Len()), true
	case *bytes.Buffer:
		return int64(v.Len()), true
	case *os.File:
		st, err := v.Stat()
		if err != nil || !st.Mode().IsRegular() {
			return 0, false
		}
		off, err := v.Seek(0, io.SeekCurrent)
		if err != nil || off > st.Size() {
			return 0, false
		}
		return st.Size() - off, true
	}
	return 0, false
}

// putShm stores size bytes from r through an upload file; errNoShm (with
// nothing read from r) when the object should be streamed instead.
func (c *Client) putShm(ctx context.Context, r io.Reader, size int64, o PutOptions, bs int) (PutResult, error) {
	u, err := c.createUpload(ctx, size)
	if err != nil {
		if c.shmFallback(err) {
			return PutResult{}, errNoShm
		}
		return PutResult{}, fmt.Errorf("put: %w", err)
	}
	if n, err := shm.WriteUpload(u.rep.Path, r); err != nil {
		u.Abort()
		if n == 0 && (errors.Is(err, fs.ErrPermission) || errors.Is(err, fs.ErrNotExist)) && c.shmFallback(err) {
			return PutResult{}, errNoShm // the file could not be opened: nothing was read from r
		}
		return PutResult{}, fmt.Errorf("put: fill shared memory: %w", err)
	}
	res, err := u.seal(ctx, o, bs)
	if err == nil && o.Progress != nil {
		o.Progress(size)
	}
	return res, err
}

// Upload is a file in the node's shared memory that becomes an object
// without its bytes crossing a socket: fill Bytes, then Seal. Abort, or a
// Seal that fails, leaves nothing behind.
type Upload struct {
	c    *Client
	rep  rpc.ShmFileRep
	m    *shm.Mapping
	done bool
}

// CreateUpload makes an upload of exactly size bytes in the node's shared
// memory, for a producer that writes the object straight into memory.
// ErrNotLocal when the node is not on this machine or has shared memory
// off; ErrTooLarge when size is over its whole capacity; ErrShmFull when
// the capacity is taken by other uploads. Use Put for objects that may be
// larger: it streams what does not fit.
func (c *Client) CreateUpload(ctx context.Context, size int64) (*Upload, error) {
	if !c.Local() {
		return nil, ErrNotLocal
	}
	u, err := c.createUpload(ctx, size)
	switch {
	case errors.Is(err, ErrUnsupported):
		c.shm.off.Store(true)
		return nil, fmt.Errorf("%w: %w", ErrNotLocal, err)
	case errors.Is(err, ErrTooLarge):
		return nil, err
	case errors.Is(err, ErrNoSpace):
		return nil, fmt.Errorf("%w: %w", ErrShmFull, err)
	case err != nil:
		return nil, err
	}
	if u.m, err = shm.MapUpload(u.rep.Path, size); err != nil {
		u.Abort()
		return nil, fmt.Errorf("map upload: %w", err)
	}
	return u, nil
}

func (c *Client) createUpload(ctx context.Context, size int64) (*Upload, error) {
	m, err := c.call(ctx, rpc.OpShmCreate, &rpc.ShmCreateReq{Size: size}, nil)
	if err != nil {
		return nil, fmt.Errorf("shared-memory upload of %d bytes: %w", size, err)
	}
	u := &Upload{c: c}
	if err := m.Decode(&u.rep); err != nil {
		return nil, err
	}
	if u.rep.Size != size {
		u.Abort()
		return nil, fmt.Errorf("%w: node made an upload of %d bytes, not %d", ErrBadRequest, u.rep.Size, size)
	}
	return u, nil
}

// Bytes is the upload's memory, to fill before Seal. Empty after Seal or
// Abort.
func (u *Upload) Bytes() []byte {
	if u.m == nil || u.done {
		return nil
	}
	return u.m.Bytes()
}

// Seal stores the upload's bytes as an object with options o (Progress is
// not called) and returns its ref. The node hashes and persists the memory,
// makes the replicas asked for, and keeps it as the object's hot copy.
func (u *Upload) Seal(ctx context.Context, o PutOptions) (blocks.Ref, error) {
	res, err := u.seal(ctx, o, u.c.blockSize(o))
	return res.Ref, err
}

func (u *Upload) seal(ctx context.Context, o PutOptions, bs int) (PutResult, error) {
	if u.done {
		return PutResult{}, fmt.Errorf("%w: upload already sealed or aborted", ErrBadRequest)
	}
	u.done = true
	if u.m != nil {
		u.m.Close()
	}
	m, err := u.c.call(ctx, rpc.OpShmSeal, &rpc.ShmSealReq{Name: u.rep.Name, PutParams: o.params(bs)}, nil)
	if err != nil {
		// The node drops the upload too; this covers a seal that never
		// arrived, and stops one still running when the caller gave up.
		if res, stored := u.c.dropUpload(u.rep.Name); stored && ctx.Err() != nil {
			return res, fmt.Errorf("put: %w as %s: %w", ErrStoredBeforeCancel, res.Ref, ctx.Err())
		}
		return PutResult{}, fmt.Errorf("put: %w", err)
	}
	return putResult(m)
}

// Abort drops the upload. Safe to call twice, and after Seal.
func (u *Upload) Abort() {
	if u.done {
		return
	}
	u.done = true
	if u.m != nil {
		u.m.Close()
	}
	u.c.dropUpload(u.rep.Name)
}

// dropUpload tells the node to drop an upload; if it cannot be told, its
// sweep removes the upload later.
// dropUpload aborts an upload, and a seal of it still running; stored
// reports a seal that had already stored the object (res says what).
func (c *Client) dropUpload(name string) (res PutResult, stored bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := c.call(ctx, rpc.OpShmAbort, &rpc.ShmAbortReq{Name: name}, nil)
	if err != nil {
		return PutResult{}, false
	}
	if res, err := putResult(m); err == nil {
		return res, true
	}
	return PutResult{}, false
}

// ShmStatus is the node's shared-memory tier as Status reports it.
type ShmStatus struct {
	Dir       string `json:"dir"`
	Capacity  int64  `json:"capacity"`
	Used      int64  `json:"used"`
	Objects   int    `json:"hot_objects"`
	Evictions uint64 `json:"evictions"`
	Gets      uint64 `json:"local_gets"` // hot copies named to local clients since the node started
	Puts      uint64 `json:"local_puts"` // objects put through shared memory since the node started
}

func shmStatus(r *rpc.ShmInfo) *ShmStatus {
	if r == nil {
		return nil
	}
	return &ShmStatus{Dir: r.Dir, Capacity: r.Capacity, Used: r.Used, Objects: r.Objects, Evictions: r.Evictions,
		Gets: r.Gets, Puts: r.Puts}
}
