package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/rpc"
)

// PutOptions are the options of a put. Zero values take the node's defaults.
type PutOptions struct {
	BlockSize int
	// Replicas is the target number of durable copies; MinReplicas how many
	// must exist before the put returns. 0: the node's defaults.
	Replicas    int
	MinReplicas int
	ContentType string
	Meta        map[string]string
	// Progress, when set, is called with the bytes the node has acknowledged
	// so far. Calls are serialised.
	Progress func(done int64)
	// PrefetchGroups and PrefetchNodes (node ids), when set, make the node
	// spread the object to every member of the groups and to the nodes: the
	// targets pull its blocks while the put lands them, and the prefetch
	// starts when it is stored; the put returns without waiting for the
	// targets (see WaitPrefetch). A node that does not take them with the
	// put is asked to prefetch once the put returned.
	PrefetchGroups []string
	PrefetchNodes  []string
}

func (o PutOptions) params(bs int) rpc.PutParams {
	return rpc.PutParams{BlockSize: bs, Replicas: o.Replicas, MinReplicas: o.MinReplicas, ContentType: o.ContentType,
		Meta: o.Meta, PrefetchGroups: o.PrefetchGroups, PrefetchNodes: o.PrefetchNodes}
}

// Put stores everything r yields as one object and returns its ref. An
// object that fits one block goes in one request; a larger one streams with
// Window blocks in flight, or, from a node on this machine (Local) when r's
// size is known (a regular file, bytes.Reader or bytes.Buffer), is written
// into the node's shared memory and persisted from there. A failed or
// canceled put leaves nothing visible.
func (c *Client) Put(ctx context.Context, r io.Reader, o PutOptions) (blocks.Ref, error) {
	res, err := c.PutObject(ctx, r, o)
	return res.Ref, err
}

// PutResult is what a put stored.
type PutResult struct {
	Ref    blocks.Ref
	Size   int64
	Blocks int
	// Copies is the number of durable copies of the object's least
	// replicated block when the put returned, and Replicas its target. With
	// fewer live members than the target a put returns once MinReplicas
	// copies exist; the node's repair makes the rest as members come.
	// Both are 0 from a node that does not report them.
	Copies, Replicas int

	prefetching bool // the node started the prefetch the put asked for
}

// UnderTarget reports a put that returned with fewer copies than its target.
func (r PutResult) UnderTarget() bool { return r.Copies < r.Replicas }

// PutObject is Put, returning what was stored (and how many copies exist).
func (c *Client) PutObject(ctx context.Context, r io.Reader, o PutOptions) (PutResult, error) {
	res, err := c.put(ctx, r, o)
	return res, c.prefetchAfter(ctx, res, err, o)
}

func (c *Client) put(ctx context.Context, r io.Reader, o PutOptions) (PutResult, error) {
	bs := c.blockSize(o)
	if size, ok := inputSize(r); ok && size > int64(bs) && c.Local() {
		if res, err := c.putShm(ctx, r, size, o, bs); !errors.Is(err, errNoShm) {
			return res, err
		}
	}
	first := c.pool.Get(bs)
	defer c.pool.Put(first)
	n, err := io.ReadFull(r, first)
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return c.putInline(ctx, first[:n], o, bs)
	case err != nil:
		return PutResult{}, fmt.Errorf("put: read input: %w", err)
	}
	var peek [1]byte
	k, err := io.ReadFull(r, peek[:])
	if errors.Is(err, io.EOF) {
		return c.putInline(ctx, first, o, bs)
	}
	if err != nil {
		return PutResult{}, fmt.Errorf("put: read input: %w", err)
	}
	src := &readerSource{c: c, bs: bs, first: first, r: io.MultiReader(bytes.NewReader(peek[:k]), r)}
	return c.upload(ctx, src, o, bs)
}

// PutBytes stores b as one object. b is not copied and must not change
// until PutBytes returns.
func (c *Client) PutBytes(ctx context.Context, b []byte, o PutOptions) (blocks.Ref, error) {
	bs := c.blockSize(o)
	if len(b) <= bs {
		res, err := c.putInline(ctx, b, o, bs)
		return res.Ref, c.prefetchAfter(ctx, res, err, o)
	}
	if c.Local() {
		if res, err := c.putShm(ctx, bytes.NewReader(b), int64(len(b)), o, bs); !errors.Is(err, errNoShm) {
			return res.Ref, c.prefetchAfter(ctx, res, err, o)
		}
	}
	res, err := c.upload(ctx, &sliceSource{b: b, bs: bs}, o, bs)
	return res.Ref, c.prefetchAfter(ctx, res, err, o)
}

func (c *Client) blockSize(o PutOptions) int {
	if o.BlockSize > 0 {
		return o.BlockSize
	}
	return c.node.BlockSize
}

func (c *Client) putInline(ctx context.Context, b []byte, o PutOptions, bs int) (PutResult, error) {
	m, err := c.call(ctx, rpc.OpPutObject, &rpc.PutObjectReq{PutParams: o.params(bs)}, [][]byte{b})
	if err != nil {
		return PutResult{}, fmt.Errorf("put: %w", err)
	}
	if o.Progress != nil {
		o.Progress(int64(len(b)))
	}
	return putResult(m)
}

func putResult(m *rpc.Message) (PutResult, error) {
	var rep rpc.PutRep
	if err := m.Decode(&rep); err != nil {
		return PutResult{}, err
	}
	ref, err := rpc.ParseRef(rep.Ref)
	if err != nil {
		return PutResult{}, err
	}
	res := PutResult{Ref: ref, Size: rep.Size, Blocks: rep.Blocks, Copies: rep.Copies, Replicas: rep.Replicas,
		prefetching: rep.Prefetch}
	if res.Replicas == 0 { // a node that predates min_replicas waited for every copy
		res.Copies = 0
	}
	return res, nil
}

// blockSource yields an object's blocks in order; release returns a block's
// memory once the node has acknowledged it.
type blockSource interface {
	next() (b []byte, release func(), err error)
}

type readerSource struct {
	c     *Client
	bs    int
	first []byte
	r     io.Reader
	done  bool
}

func (s *readerSource) next() ([]byte, func(), error) {
	if s.first != nil {
		b := s.c.pool.Get(s.bs)
		copy(b, s.first)
		s.first = nil
		return b, func() { s.c.pool.Put(b) }, nil
	}
	if s.done {
		return nil, nil, io.EOF
	}
	b := s.c.pool.Get(s.bs)
	n, err := io.ReadFull(s.r, b)
	switch {
	case errors.Is(err, io.EOF):
		s.c.pool.Put(b)
		return nil, nil, io.EOF
	case errors.Is(err, io.ErrUnexpectedEOF):
		s.done = true
	case err != nil:
		s.c.pool.Put(b)
		return nil, nil, fmt.Errorf("read input: %w", err)
	}
	return b[:n], func() { s.c.pool.Put(b) }, nil
}

type sliceSource struct {
	b  []byte
	bs int
}

func (s *sliceSource) next() ([]byte, func(), error) {
	if len(s.b) == 0 {
		return nil, nil, io.EOF
	}
	n := min(s.bs, len(s.b))
	b := s.b[:n]
	s.b = s.b[n:]
	return b, func() {}, nil
}

// upload runs a streamed put: start, Window PutData requests in flight,
// commit; abort on any failure.
func (c *Client) upload(ctx context.Context, src blockSource, o PutOptions, bs int) (PutResult, error) {
	m, err := c.call(ctx, rpc.OpPutStart, &rpc.PutStartReq{PutParams: o.params(bs)}, nil)
	if err != nil {
		return PutResult{}, fmt.Errorf("put: %w", err)
	}
	var start rpc.PutStartRep
	if err := m.Decode(&start); err != nil {
		return PutResult{}, err
	}
	n, size, err := c.sendBlocks(ctx, src, start.Upload, o.Progress)
	if err != nil {
		c.abort(start.Upload)
		return PutResult{}, fmt.Errorf("put: %w", err)
	}
	m, err = c.call(ctx, rpc.OpPutCommit, &rpc.PutCommitReq{Upload: start.Upload, Blocks: n, Size: size}, nil)
	if err != nil {
		c.abort(start.Upload)
		return PutResult{}, fmt.Errorf("put: commit: %w", err)
	}
	return putResult(m)
}

// abort tells the node to drop an upload; if the node cannot be told, its
// idle timeout drops it.
func (c *Client) abort(id uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c.call(ctx, rpc.OpPutAbort, &rpc.PutAbortReq{Upload: id}, nil)
}

func (c *Client) sendBlocks(ctx context.Context, src blockSource, upload uint64, progress func(int64)) (int, int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		first  error
		acked  int64
		size   int64
		seq    int
		window = make(chan struct{}, c.opts.Window)
	)
	fail := func(err error) {
		mu.Lock()
		if first == nil {
			first = err
		}
		mu.Unlock()
		cancel()
	}
	for ctx.Err() == nil {
		b, release, err := src.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fail(err)
			break
		}
		select {
		case window <- struct{}{}:
		case <-ctx.Done():
			release()
			continue
		}
		wg.Add(1)
		go func(seq int, b []byte) {
			defer wg.Done()
			_, err := c.call(ctx, rpc.OpPutData, &rpc.PutDataReq{Upload: upload, Seq: seq}, [][]byte{b})
			n := int64(len(b))
			release()
			<-window
			if err != nil {
				fail(fmt.Errorf("block %d: %w", seq, err))
				return
			}
			mu.Lock()
			acked += n
			if progress != nil {
				progress(acked)
			}
			mu.Unlock()
		}(seq, b)
		seq++
		size += int64(len(b))
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	return seq, size, first
}
