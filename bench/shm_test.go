package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/internal/units"
	"github.com/emerge-dev/emerge/node"
)

// Shared-memory hot copies (docs/benchmarks.md, "Shared-memory hot
// copies"): a local client against one in-process node, each path with its
// same-run references. Never fails on wall-clock.

// shmSize is the object size of the shared-memory benchmarks: 64 MiB, or
// 1 GiB with EMERGE_LONG=1.
func shmSize() int {
	if os.Getenv("EMERGE_LONG") == "1" {
		return 1 << 30
	}
	return 64 * mib
}

// shmRefIters bounds the runs of each reference: ratios compare rates.
const shmRefIters = 3

// startShmNode runs one node alone with shared memory for five objects of
// size bytes (so that, as on a node whose objects are small against its
// shm_bytes, an evicted file is recycled: the pool keeps up to a quarter of
// the capacity), and Badger sized for production, as startNode.
func startShmNode(b *testing.B, size int, off bool) *node.Node {
	def := node.DefaultConfig()
	return nodetest.Start(b, func(c *node.Config) {
		c.Replicas = 1
		c.MemTableSize, c.BlockCacheSize, c.ValueLogFileSize = def.MemTableSize, def.BlockCacheSize, def.ValueLogFileSize
		c.ShmBytes, c.ShmOff = units.ByteSize(5*size), off
	})
}

func dialNoShm(b *testing.B, n *node.Node) *client.Client {
	c, err := client.Dial(context.Background(), n.Endpoint(), &client.Options{NoShm: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// BenchmarkShmGet: GetView of a hot object, every byte read, Close (the
// figure), against a memcpy of the same bytes into touched memory and a
// streamed GetTo(io.Discard) of the same object from the same node.
func BenchmarkShmGet(b *testing.B) {
	size := shmSize()
	n := startShmNode(b, size, false)
	local, stream := nodetest.Client(b, n), dialNoShm(b, n)
	obj := newObject(5, size)
	ctx := context.Background()
	ref, err := local.PutBytes(ctx, obj.data, client.PutOptions{})
	if err != nil {
		b.Fatal(err)
	}
	view := func() {
		v, err := local.GetView(ctx, ref)
		if err != nil || !v.Mapped() || v.Size() != int64(size) {
			b.Fatalf("view: %v (mapped %v)", err, v != nil && v.Mapped())
		}
		readWords(v.Bytes())
		v.Close()
	}
	view() // untimed, as in benchPut
	b.SetBytes(int64(size))
	iters := 0
	for b.Loop() {
		view()
		iters++
	}
	shmRate := rate(int64(iters)*int64(size), b.Elapsed())
	k := min(iters, shmRefIters)
	dst := make([]byte, size)
	copy(dst, obj.data) // touch
	start := time.Now()
	for range k {
		copy(dst, obj.data)
	}
	reportShmRef(b, shmRate, "memcpy", time.Since(start), k, size)
	start = time.Now()
	for range k {
		if n, err := stream.GetTo(ctx, ref, io.Discard); err != nil || n != int64(size) {
			b.Fatalf("streamed get: %d bytes, %v", n, err)
		}
	}
	reportShmRef(b, shmRate, "stream", time.Since(start), k, size)
}

// BenchmarkShmPut: Client.Put of a fresh object from memory through an
// upload file (filled with pwrite, persisted by the node: hashed, stored in
// Badger, kept as the hot copy), against a streamed put to the same node
// (which makes a hot copy in the background), a streamed put to a node with
// shared memory off, and the same blocks written to raw Badger.
func BenchmarkShmPut(b *testing.B) {
	size := shmSize()
	n := startShmNode(b, size, false)
	local, stream := nodetest.Client(b, n), dialNoShm(b, n)
	obj := newObject(6, size)
	ctx := context.Background()
	put := func(c *client.Client, i int) blocks.Ref {
		obj.stamp(i)
		ref, err := c.Put(ctx, bytes.NewReader(obj.data), client.PutOptions{})
		if err != nil {
			b.Fatal(err)
		}
		return ref
	}
	put(local, 0) // untimed
	b.SetBytes(int64(size))
	iters := 0
	for b.Loop() {
		iters++
		put(local, iters)
	}
	shmRate := rate(int64(iters)*int64(size), b.Elapsed())
	if s, _ := local.Status(ctx); s.Shm == nil || s.Shm.Puts != uint64(iters)+1 {
		b.Fatalf("puts did not go through shared memory: %+v", s.Shm)
	}
	k := min(iters, shmRefIters)
	timePuts := func(c *client.Client, from int) time.Duration {
		put(c, from) // untimed, a first put into this path
		start := time.Now()
		for i := range k {
			put(c, from+1+i)
		}
		return time.Since(start)
	}
	reportShmRef(b, shmRate, "stream", timePuts(stream, 1000), k, size)
	reportShmRef(b, shmRate, "stream-shmoff", timePuts(dialNoShm(b, startShmNode(b, size, true)), 2000), k, size)
	reportShmRef(b, shmRate, "badger", mustDur(b)(kvWrite(openRawBadger(b), obj.blocks(), k, refPar)), k, size)
}

// reportShmRef reports a reference's MB/s and the shared-memory path's
// speed over it (above 1: shared memory is faster).
func reportShmRef(b *testing.B, shm float64, name string, d time.Duration, iters, size int) {
	ref := rate(int64(iters)*int64(size), d)
	b.ReportMetric(ref, name+"-MB/s")
	b.ReportMetric(shm/ref, "shm/"+name)
}

var wordSink atomic.Uint64

// readWords reads every byte of p, a word at a time.
func readWords(p []byte) {
	var s uint64
	for ; len(p) >= 8; p = p[8:] {
		s += binary.LittleEndian.Uint64(p)
	}
	for _, c := range p {
		s += uint64(c)
	}
	wordSink.Add(s)
}
