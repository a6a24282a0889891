package bench

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/internal/testdata"
)

// refPar is the number of writers or readers the Badger and store
// references use: the client's default window, so the store sees the same
// concurrency under the node as alone.
const refPar = 8

// objectSizes are the large-object sizes; each is a sub-benchmark.
func objectSizes() []struct {
	name string
	n    int
} {
	return []struct {
		name string
		n    int
	}{{"1MiB", mib}, {"256MiB", 256 * mib}}
}

// BenchmarkPut: Client.Put of a fresh object (never deduplicated) into one
// in-process node over loopback TCP, then the same bytes written to raw
// Badger, to store.Store and through a TCP connection.
func BenchmarkPut(b *testing.B) {
	for _, s := range objectSizes() {
		b.Run("size="+s.name, func(b *testing.B) { benchPut(b, s.n) })
	}
}

// BenchmarkGet: Client.GetTo(io.Discard) of one stored object, blocks
// verified against their ids (the default), then the same bytes read from
// raw Badger, from store.Store and through a TCP connection.
func BenchmarkGet(b *testing.B) {
	for _, s := range objectSizes() {
		b.Run("size="+s.name, func(b *testing.B) { benchGet(b, s.n) })
	}
}

func benchPut(b *testing.B, size int) {
	c := nodetestClient(b)
	obj := newObject(1, size)
	ctx := context.Background()
	// One untimed put first: the figures describe a running node, not the
	// first put into a fresh process (which pays for first-touch pages, half
	// the speed on this VM).
	put := func(i int) blocks.Ref {
		obj.stamp(i)
		ref, err := c.Put(ctx, bytes.NewReader(obj.data), client.PutOptions{})
		if err != nil {
			b.Fatal(err)
		}
		return ref
	}
	put(0)
	b.SetBytes(int64(size))
	var ref blocks.Ref
	iters := 0
	for b.Loop() {
		iters++
		ref = put(iters)
	}
	node := rate(int64(iters)*int64(size), b.Elapsed())
	checkObject(b, c, ref, obj.data)
	if !refs() {
		return
	}
	vals := obj.blocks()
	reportRef(b, node, "badger", mustDur(b)(kvWrite(openRawBadger(b), vals, iters, refPar)), iters, size)
	reportRef(b, node, "store", mustDur(b)(kvWrite(openStore(b), vals, iters, refPar)), iters, size)
	reportRef(b, node, "tcp", mustDur(b)(tcpCopy(int64(iters)*int64(size))), iters, size)
}

func benchGet(b *testing.B, size int) {
	c := nodetestClient(b)
	obj := newObject(2, size)
	ctx := context.Background()
	ref, err := c.Put(ctx, bytes.NewReader(obj.data), client.PutOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.GetTo(ctx, ref, io.Discard); err != nil { // untimed, as in benchPut
		b.Fatal(err)
	}
	b.SetBytes(int64(size))
	iters := 0
	for b.Loop() {
		n, err := c.GetTo(ctx, ref, io.Discard)
		if err != nil || n != int64(size) {
			b.Fatalf("get: %d bytes of %d, %v", n, size, err)
		}
		iters++
	}
	node := rate(int64(iters)*int64(size), b.Elapsed())
	checkObject(b, c, ref, obj.data)
	if !refs() {
		return
	}
	vals := obj.blocks()
	for _, r := range []struct {
		name string
		s    kv
	}{{"badger", openRawBadger(b)}, {"store", openStore(b)}} {
		mustDur(b)(kvWrite(r.s, vals, 1, refPar))
		reportRef(b, node, r.name, mustDur(b)(kvRead(r.s, vals, iters, refPar)), iters, size)
	}
	reportRef(b, node, "tcp", mustDur(b)(tcpCopy(int64(iters)*int64(size))), iters, size)
}

// reportRef reports a reference's MB/s and node/reference.
func reportRef(b *testing.B, node float64, name string, d time.Duration, iters, size int) {
	ref := rate(int64(iters)*int64(size), d)
	b.ReportMetric(ref, name+"-MB/s")
	b.ReportMetric(node/ref, "node/"+name)
}

// rate is MB/s (10^6 bytes, as testing's MB/s).
func rate(bytes int64, d time.Duration) float64 { return float64(bytes) / 1e6 / d.Seconds() }

func mustDur(b *testing.B) func(time.Duration, error) time.Duration {
	return func(d time.Duration, err error) time.Duration {
		if err != nil {
			b.Fatal(err)
		}
		return d
	}
}

func nodetestClient(b *testing.B) *client.Client { return nodetest.Client(b, startNode(b)) }

// checkObject fails b unless ref reads back as want.
func checkObject(b *testing.B, c *client.Client, ref blocks.Ref, want []byte) {
	d := testdata.NewDigest()
	if _, err := c.GetTo(context.Background(), ref, d); err != nil {
		b.Fatal(err)
	}
	w := testdata.NewDigest()
	w.Write(want)
	if d.Sum() != w.Sum() {
		b.Fatalf("object %s does not read back as written", ref.Short())
	}
}
