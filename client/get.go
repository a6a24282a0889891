package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/blocks/shm"
	"github.com/emerge-dev/emerge/rpc"
)

// Reader streams an object. Blocks are fetched Window at a time ahead of
// the reader, verified against their ids, and handed out in order. Close it
// to stop the prefetch.
type Reader struct {
	c      *Client
	ref    blocks.Ref
	man    *blocks.Manifest
	ctx    context.Context
	cancel context.CancelFunc

	order chan chan fetched // one channel per block, in object order
	slots chan struct{}     // limits blocks fetched ahead
	done  chan struct{}     // closed when the launcher exits

	cur []byte
	err error
	n   int64
	hot *shm.View // the node's hot copy, when read from shared memory
}

type fetched struct {
	b   []byte
	err error
}

// Get opens an object for reading. Unknown refs fail here, not on Read.
// From a node on this machine, an object that fits its shared memory is
// read from its hot copy, without crossing the socket (Reader.Local).
func (c *Client) Get(ctx context.Context, ref blocks.Ref) (*Reader, error) {
	if c.Local() {
		r, err := c.getHot(ctx, ref)
		if !errors.Is(err, errNoShm) {
			return r, err
		}
	}
	return c.stream(ctx, ref)
}

// stream opens an object for reading block by block over the socket.
func (c *Client) stream(ctx context.Context, ref blocks.Ref) (*Reader, error) {
	m, err := c.call(ctx, rpc.OpGetObject, &rpc.GetObjectReq{Ref: ref[:], Manifest: true}, nil)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", ref, err)
	}
	man, got, err := c.firstReply(ref, m)
	if err != nil {
		return nil, err
	}
	r := &Reader{c: c, ref: ref, man: man, order: make(chan chan fetched, c.opts.Window+len(got)),
		slots: make(chan struct{}, c.opts.Window+len(got)), done: make(chan struct{})}
	r.ctx, r.cancel = context.WithCancel(ctx)
	for _, f := range got {
		ch := make(chan fetched, 1)
		ch <- f
		r.slots <- struct{}{}
		r.order <- ch
	}
	if len(got) == len(man.Blocks) { // the first reply carried it all: no launcher
		close(r.order)
		close(r.done)
		return r, nil
	}
	stop := context.AfterFunc(c.closing, r.cancel) // Client.Close stops the launcher
	if !c.goWorker(func() { defer stop(); r.launch(len(got)) }) {
		stop()
		r.cancel()
		close(r.order)
		close(r.done)
		return nil, fmt.Errorf("get %s: %w", ref, ErrClientClosed)
	}
	return r, nil
}

// firstReply checks the manifest against the ref and verifies the blocks
// that came with it.
func (c *Client) firstReply(ref blocks.Ref, m *rpc.Message) (*blocks.Manifest, []fetched, error) {
	var rep rpc.GetObjectRep
	if err := m.Decode(&rep); err != nil {
		return nil, nil, err
	}
	if !rep.Manifest || len(m.Data) < 1+rep.Count {
		return nil, nil, fmt.Errorf("get %s: %w: reply without manifest", ref, ErrBadRequest)
	}
	man, got, err := blocks.UnmarshalRecord(m.Data[0])
	if err != nil {
		return nil, nil, fmt.Errorf("get %s: %w", ref, err)
	}
	if got != ref {
		return nil, nil, fmt.Errorf("get %s: %w: node sent the manifest of %s", ref, ErrCorrupt, got)
	}
	if rep.First != 0 || rep.Count > len(man.Blocks) {
		return nil, nil, fmt.Errorf("get %s: %w: reply range %d+%d", ref, ErrBadRequest, rep.First, rep.Count)
	}
	out := make([]fetched, rep.Count)
	for i := range out {
		out[i] = fetched{b: m.Data[1+i], err: c.verify(ref, man, i, m.Data[1+i])}
	}
	return man, out, nil
}

// verify checks block i of ref; the error names the object and the block.
// The length is always checked; the hash unless the node's own check is
// trusted (trustsNode).
func (c *Client) verify(ref blocks.Ref, man *blocks.Manifest, i int, b []byte) error {
	if len(b) != man.BlockLen(i) {
		return fmt.Errorf("get %s: %w: block %d has %d bytes, want %d", ref.Short(), ErrCorrupt, i, len(b), man.BlockLen(i))
	}
	if c.opts.NoVerify || c.trustsNode() {
		return nil
	}
	if err := blocks.Verify(man.Blocks[i], b); err != nil {
		return fmt.Errorf("get %s block %d: %w", ref.Short(), i, err)
	}
	return nil
}

// trustsNode reports whether blocks streamed from the node are handed out
// without re-hashing: the node runs on this machine (it reported this
// machine's host id when dialed) and Options.VerifyLocal is off. Such a
// node hashes every block it serves, against its id, when it reads it
// from its store or receives it from a peer (verify once per machine); the
// manifest is still checked against the ref, and every length against the
// manifest.
func (c *Client) trustsNode() bool {
	return !c.opts.VerifyLocal && c.node.Host != "" && c.node.Host == c.shm.host
}

// launch requests blocks from..n in order, keeping at most Window ahead of
// the reader.
func (r *Reader) launch(from int) {
	defer close(r.done)
	defer close(r.order)
	for i := from; i < len(r.man.Blocks); i++ {
		select {
		case r.slots <- struct{}{}:
		case <-r.ctx.Done():
			return
		}
		ch := make(chan fetched, 1)
		r.order <- ch
		if !r.c.goWorker(func() { ch <- r.fetch(i) }) {
			ch <- fetched{err: fmt.Errorf("get %s block %d: %w", r.ref.Short(), i, ErrClientClosed)}
			return
		}
	}
}

func (r *Reader) fetch(i int) fetched {
	m, err := r.c.call(r.ctx, rpc.OpGetObject, &rpc.GetObjectReq{Ref: r.ref[:], First: i, Count: 1}, nil)
	if err != nil {
		return fetched{err: fmt.Errorf("get %s block %d: %w", r.ref.Short(), i, err)}
	}
	if len(m.Data) != 1 {
		return fetched{err: fmt.Errorf("get %s block %d: %w: %d frames", r.ref.Short(), i, ErrBadRequest, len(m.Data))}
	}
	return fetched{b: m.Data[0], err: r.c.verify(r.ref, r.man, i, m.Data[0])}
}

// next moves to the following block; io.EOF after the last.
func (r *Reader) next() error {
	if r.err != nil {
		return r.err
	}
	ch, ok := <-r.order
	if !ok {
		switch err := r.ctx.Err(); {
		case err == nil || r.n >= r.man.Size:
			r.err = io.EOF
		case r.c.closing.Err() != nil: // Client.Close stopped the launcher
			r.err = fmt.Errorf("get %s: %w", r.ref.Short(), ErrClientClosed)
		default:
			r.err = err
		}
		return r.err
	}
	f := <-ch
	<-r.slots
	if f.err != nil {
		r.err = f.err
		r.cancel()
		return f.err
	}
	r.cur = f.b
	return nil
}

// Read implements io.Reader.
func (r *Reader) Read(p []byte) (int, error) {
	if r.hot != nil && len(r.cur) == 0 {
		return 0, io.EOF
	}
	for len(r.cur) == 0 {
		if err := r.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	r.n += int64(n)
	return n, nil
}

// WriteTo implements io.WriterTo: whole blocks go to w without a copy.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	if r.hot != nil {
		return r.hotWriteTo(w)
	}
	var total int64
	for {
		if len(r.cur) == 0 {
			if err := r.next(); err == io.EOF {
				return total, nil
			} else if err != nil {
				return total, err
			}
		}
		n, err := w.Write(r.cur)
		r.cur = r.cur[n:]
		r.n += int64(n)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
}

// Close stops fetching ahead. Safe to call twice.
func (r *Reader) Close() error {
	r.cancel()
	<-r.done
	if r.hot != nil {
		r.cur = nil
		return r.hot.Close()
	}
	return nil
}

// Size is the object's size in bytes.
func (r *Reader) Size() int64 {
	if r.hot != nil {
		return r.hot.Size()
	}
	return r.man.Size
}

// Manifest is the object's manifest; nil when the reader reads a hot copy
// (Local).
func (r *Reader) Manifest() *blocks.Manifest { return r.man }

// GetTo writes an object to w and returns the bytes written.
func (c *Client) GetTo(ctx context.Context, ref blocks.Ref, w io.Writer) (int64, error) {
	r, err := c.Get(ctx, ref)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	return r.WriteTo(w)
}

// GetBytes returns an object's bytes.
func (c *Client) GetBytes(ctx context.Context, ref blocks.Ref) ([]byte, error) {
	r, err := c.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	return readAll(r)
}

// readAll reads r to its end into a buffer of the object's size and closes
// it.
func readAll(r *Reader) ([]byte, error) {
	defer r.Close()
	buf := bytes.NewBuffer(make([]byte, 0, r.Size()))
	if _, err := r.WriteTo(buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
