package node_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/internal/testdata"
	"github.com/emerge-dev/emerge/node"
)

const bs = 1 << 20

func TestRoundTripSizes(t *testing.T) {
	n := nodetest.Start(t, nil)
	c := nodetest.Client(t, n)
	ctx := nodetest.Context(t, time.Minute)
	for _, size := range []int{0, 1, bs - 1, bs, bs + 1, 3*bs + 5} {
		data := testdata.Bytes(uint64(size), size)
		ref, err := c.Put(ctx, bytes.NewReader(data), client.PutOptions{})
		if err != nil {
			t.Fatalf("put %d bytes: %v", size, err)
		}
		ref2, err := c.PutBytes(ctx, data, client.PutOptions{})
		if err != nil || ref2 != ref {
			t.Fatalf("size %d: same bytes gave ref %s then %s (err %v)", size, ref, ref2, err)
		}
		got, err := c.GetBytes(ctx, ref)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("size %d: get returned %d bytes, err %v", size, len(got), err)
		}
		var streamed bytes.Buffer
		r, err := c.Get(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.CopyBuffer(onlyWriter{&streamed}, onlyReader{r}, make([]byte, 4097)); err != nil {
			t.Fatal(err)
		}
		r.Close()
		if !bytes.Equal(streamed.Bytes(), data) {
			t.Fatalf("size %d: Read path differs", size)
		}
		info, err := c.Stat(ctx, ref)
		if err != nil || info.Size != int64(size) || info.Blocks != blocks.NumBlocks(int64(size), bs) || info.Local != info.Blocks {
			t.Fatalf("size %d: stat %+v err %v", size, info, err)
		}
	}
}

// onlyReader and onlyWriter hide WriteTo/ReadFrom so io.Copy uses Read.
type onlyReader struct{ io.Reader }
type onlyWriter struct{ io.Writer }

func TestOptionsChangeTheRef(t *testing.T) {
	n := nodetest.Start(t, nil)
	c := nodetest.Client(t, n)
	ctx := nodetest.Context(t, time.Minute)
	data := testdata.Bytes(1, 3*bs)
	a, _ := c.PutBytes(ctx, data, client.PutOptions{})
	b, _ := c.PutBytes(ctx, data, client.PutOptions{BlockSize: 256 << 10})
	m, _ := c.PutBytes(ctx, data, client.PutOptions{Meta: map[string]string{"k": "v"}, ContentType: "x/y"})
	if a == b || a == m || b == m {
		t.Fatal("block size and metadata must be part of the identity")
	}
	info, err := c.Stat(ctx, m)
	if err != nil || info.Meta["k"] != "v" || info.ContentType != "x/y" {
		t.Fatalf("metadata not kept: %+v %v", info, err)
	}
	got, err := c.GetBytes(ctx, b)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatal("small-block object differs")
	}
}

// 300 MiB streams through both directions without the object ever being
// held in memory.
func TestLargeObjectStreamsInBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("300 MiB through one node: a memory bound, run by the plain pass (make test runs the race pass with -short)")
	}
	const size = 300 << 20
	n := nodetest.Start(t, nil)
	c := nodetest.Client(t, n)
	ctx := nodetest.Context(t, 5*time.Minute)
	peak := watchHeap(t)
	ref, err := c.Put(ctx, testdata.New(42, size), client.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := testdata.NewDigest()
	got, err := c.GetTo(ctx, ref, d)
	if err != nil || got != size {
		t.Fatalf("get: %d bytes, %v", got, err)
	}
	if d.Sum() != testdata.Sum(42, size) {
		t.Fatal("300 MiB object came back different")
	}
	if p := peak(); p > 200<<20 {
		t.Fatalf("heap peaked at %d MiB while moving a 300 MiB object", p>>20)
	}
}

// watchHeap samples the heap until the returned function is called and
// returns the peak.
func watchHeap(t *testing.T) func() uint64 {
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() uint64 {
		close(stop)
		<-done
		return peak.Load()
	}
}

func TestRestartReadsEverythingBack(t *testing.T) {
	cfg := nodetest.Config(t)
	n := nodetest.StartConfig(t, cfg)
	c := nodetest.Client(t, n)
	ctx := nodetest.Context(t, time.Minute)
	refs := map[blocks.Ref][]byte{}
	for i, size := range []int{0, 10, bs, 5*bs + 3} {
		data := testdata.Bytes(uint64(100+i), size)
		ref, err := c.PutBytes(ctx, data, client.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		refs[ref] = data
	}
	id := n.ID()
	c.Close()
	n.Close()

	n2 := nodetest.StartConfig(t, cfg)
	if n2.ID() != id {
		t.Fatalf("node id changed across restart: %s -> %s", id, n2.ID())
	}
	c2 := nodetest.Client(t, n2)
	for ref, data := range refs {
		got, err := c2.GetBytes(ctx, ref)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("after restart %s: %v", ref.Short(), err)
		}
	}
	all, err := c2.ListAll(ctx)
	if err != nil || len(all) != len(refs) {
		t.Fatalf("list after restart: %d objects, %v", len(all), err)
	}
}

// stallingReader yields n bytes and then blocks until its context ends.
type stallingReader struct {
	r       io.Reader
	ctx     context.Context
	reached chan struct{}
}

func (s *stallingReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err == io.EOF {
		close(s.reached)
		<-s.ctx.Done()
		return 0, s.ctx.Err()
	}
	return n, err
}

func TestInterruptedPutLeavesNothing(t *testing.T) {
	n := nodetest.Start(t, nil)
	c := nodetest.Client(t, n)
	ctx, cancel := context.WithCancel(context.Background())
	sr := &stallingReader{r: testdata.New(5, 20*bs), ctx: ctx, reached: make(chan struct{})}
	errc := make(chan error, 1)
	go func() {
		_, err := c.Put(ctx, sr, client.PutOptions{})
		errc <- err
	}()
	<-sr.reached
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled put returned %v", err)
	}
	assertEmpty(t, n, c)
}

// A client that vanishes mid-upload (no abort) loses its upload to the
// node's idle timeout, and its blocks with it.
func TestAbandonedUploadExpires(t *testing.T) {
	n := nodetest.Start(t, func(c *node.Config) { c.UploadIdle = 400 * time.Millisecond })
	c := nodetest.Client(t, n)
	ctx, cancel := context.WithCancel(context.Background())
	sr := &stallingReader{r: testdata.New(6, 10*bs), ctx: ctx, reached: make(chan struct{})}
	go c.Put(ctx, sr, client.PutOptions{})
	<-sr.reached
	nodetest.WaitFor(t, 10*time.Second, "blocks of the abandoned upload to be dropped", func() bool {
		st, err := n.Store().Stats()
		return err == nil && st.Blocks == 0
	})
	cancel()
	assertEmpty(t, n, c)
}

func assertEmpty(t *testing.T, n *node.Node, c *client.Client) {
	t.Helper()
	all, err := c.ListAll(nodetest.Context(t, 10*time.Second))
	if err != nil || len(all) != 0 {
		t.Fatalf("interrupted put left %d visible objects (%v)", len(all), err)
	}
	nodetest.WaitFor(t, 10*time.Second, "no blocks left", func() bool {
		st, err := n.Store().Stats()
		return err == nil && st.Blocks == 0
	})
}

func TestDeleteKeepsSharedBlocks(t *testing.T) {
	n := nodetest.Start(t, nil)
	c := nodetest.Client(t, n)
	ctx := nodetest.Context(t, time.Minute)
	shared := testdata.Bytes(9, 2*bs)
	a := append(append([]byte{}, shared...), testdata.Bytes(10, bs)...)
	b := append(append([]byte{}, shared...), testdata.Bytes(11, bs/2)...)
	ra, _ := c.PutBytes(ctx, a, client.PutOptions{})
	rb, _ := c.PutBytes(ctx, b, client.PutOptions{})
	freed, err := c.Delete(ctx, ra)
	if err != nil || freed < bs || freed >= 2*bs {
		t.Fatalf("delete freed %d bytes (want only a's own block), err %v", freed, err)
	}
	if got, err := c.GetBytes(ctx, rb); err != nil || !bytes.Equal(got, b) {
		t.Fatalf("object sharing blocks with a deleted one: %v", err)
	}
	if _, err := c.GetBytes(ctx, ra); !errors.Is(err, client.ErrDeleted) {
		t.Fatalf("get of deleted object: %v", err)
	}
	if _, err := c.Delete(ctx, ra); !errors.Is(err, client.ErrNotFound) && !errors.Is(err, client.ErrDeleted) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestClearErrors(t *testing.T) {
	n := nodetest.Start(t, nil)
	c := nodetest.Client(t, n)
	ctx := nodetest.Context(t, time.Minute)
	var unknown blocks.Ref
	unknown[0] = 1
	if _, err := c.GetBytes(ctx, unknown); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("unknown ref: %v", err)
	}
	if _, err := c.Stat(ctx, unknown); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("stat unknown ref: %v", err)
	}
	if _, err := c.PutBytes(ctx, []byte("x"), client.PutOptions{BlockSize: 1000}); !errors.Is(err, client.ErrBadRequest) {
		t.Errorf("block size 1000: %v", err)
	}
	if _, err := c.PutBytes(ctx, []byte("x"), client.PutOptions{Meta: map[string]string{"": "v"}}); !errors.Is(err, client.ErrBadRequest) {
		t.Errorf("empty meta key: %v", err)
	}
	start := time.Now()
	_, err := client.Dial(ctx, "tcp://127.0.0.1:1", &client.Options{DialTimeout: 300 * time.Millisecond})
	if !errors.Is(err, client.ErrUnreachable) || !bytes.Contains([]byte(err.Error()), []byte("127.0.0.1:1")) {
		t.Errorf("dial of a dead endpoint: %v", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("dial of a dead endpoint took %v", time.Since(start))
	}
}
