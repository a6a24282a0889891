package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/internal/bufpool"
)

// objectReader reads an object block by block through Objects: an
// io.ReadSeeker over the object's bytes that holds one block at a time, so
// http.ServeContent can answer ranges without the object in memory.
type objectReader struct {
	ctx  context.Context
	objs Objects
	ref  blocks.Ref
	m    *blocks.Manifest
	pool *bufpool.Pool

	off  int64
	buf  []byte // pooled, one block
	cur  []byte // bytes of block idx
	idx  int    // -1: none loaded
	sent int    // bytes handed out, for the metrics
}

func newObjectReader(ctx context.Context, objs Objects, ref blocks.Ref, m *blocks.Manifest, pool *bufpool.Pool) *objectReader {
	return &objectReader{ctx: ctx, objs: objs, ref: ref, m: m, pool: pool, idx: -1}
}

func (r *objectReader) Read(p []byte) (int, error) {
	if r.off >= r.m.Size {
		return 0, io.EOF
	}
	bs := int64(r.m.BlockSize)
	i := int(r.off / bs)
	if i != r.idx {
		if err := r.load(i); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.cur[r.off-int64(i)*bs:])
	r.off += int64(n)
	r.sent += n
	return n, nil
}

// load reads block i into the reader's buffer.
func (r *objectReader) load(i int) error {
	if r.buf == nil {
		r.buf = r.pool.Get(r.m.BlockSize)
	}
	b, err := r.objs.ReadBlock(r.ctx, r.ref, r.m, i, r.buf)
	if err != nil {
		r.idx, r.cur = -1, nil
		return err
	}
	if len(b) != r.m.BlockLen(i) {
		return fmt.Errorf("%w: block %d of %s has %d bytes, want %d", blocks.ErrBadManifest, i, r.ref.Short(), len(b), r.m.BlockLen(i))
	}
	r.idx, r.cur = i, b
	return nil
}

// preload loads the block holding offset off.
func (r *objectReader) preload(off int64) error {
	return r.load(int(off / int64(r.m.BlockSize)))
}

var errSeek = errors.New("seek outside the object")

func (r *objectReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.m.Size
	default:
		return r.off, errSeek
	}
	if offset < 0 {
		return r.off, errSeek
	}
	r.off = offset
	return offset, nil
}

// Close returns the block buffer.
func (r *objectReader) Close() {
	if r.buf != nil {
		r.pool.Put(r.buf)
		r.buf, r.cur = nil, nil
	}
}

// writeTo writes up to n bytes from the current offset to w, a block (or
// what is left of it) per Write: what a response body wants, where a copy
// through a 32 KiB buffer would make 32 times the system calls.
func (r *objectReader) writeTo(w io.Writer, n int64) (int64, error) {
	var done int64
	for done < n && r.off < r.m.Size {
		bs := int64(r.m.BlockSize)
		i := int(r.off / bs)
		if i != r.idx {
			if err := r.load(i); err != nil {
				return done, err
			}
		}
		chunk := r.cur[r.off-int64(i)*bs:]
		if int64(len(chunk)) > n-done {
			chunk = chunk[:n-done]
		}
		k, err := w.Write(chunk)
		done += int64(k)
		r.off += int64(k)
		r.sent += k
		if err != nil {
			return done, err
		}
	}
	return done, nil
}
