package bench

import (
	"context"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/names"
	"github.com/emerge-dev/emerge/node"
)

// BenchmarkNameGet: a 4 KiB get by name (Client.GetName: resolve, then
// get) through the node holding the object, timed per op. Reference in the
// same run: as many gets by ref (Client.GetBytes) of the same object, and
// as many bare resolves; "name/ref" is the ratio of the per-op times.
func BenchmarkNameGet(b *testing.B) {
	n := startNode(b)
	c := nodetest.Client(b, n)
	ctx := context.Background()
	ref, err := c.PutBytes(ctx, make([]byte, smallSize), client.PutOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Bind(ctx, "/bench/policy.bin", ref, client.BindOptions{}); err != nil {
		b.Fatal(err)
	}
	iters := 0
	start := time.Now()
	for b.Loop() {
		r, _, err := c.GetName(ctx, "/bench/policy.bin")
		if err == nil {
			_, err = readAllClose(r)
		}
		if err != nil {
			b.Fatal(err)
		}
		iters++
	}
	byName := time.Since(start) / time.Duration(iters)
	if !refs() {
		return
	}
	byRef := timePer(b, iters, func() error { _, err := c.GetBytes(ctx, ref); return err })
	resolve := timePer(b, iters, func() error { _, err := c.Resolve(ctx, "/bench/policy.bin"); return err })
	b.ReportMetric(float64(byRef.Microseconds()), "ref-us/op")
	b.ReportMetric(float64(resolve.Microseconds()), "resolve-us/op")
	b.ReportMetric(float64(byName)/float64(byRef), "name/ref")
}

func readAllClose(r *client.Reader) (int64, error) {
	defer r.Close()
	return io.Copy(io.Discard, r)
}

func timePer(b *testing.B, n int, f func() error) time.Duration {
	start := time.Now()
	for i := 0; i < n; i++ {
		if err := f(); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start) / time.Duration(n)
}

// BenchmarkNamesConverge: 8 nodes; 1,000 names bound at once, 125 through
// each node by its own client (8 concurrent writers). Reported: write-ms,
// until every bind returned; converge-ms, from the first bind until all 8
// namespaces hold the 1,000 entries with identical digests (polled every
// 5 ms). Anti-entropy runs every second (names_sync_interval 1s), so what
// the broadcast lost arrives within about a second. Reference in the same
// run: the same 1,000 binds through one node's client, one writer
// (single-ms), what one node alone takes to accept them.
func BenchmarkNamesConverge(b *testing.B) {
	var wrote, conv, single time.Duration
	rounds := 0
	for b.Loop() {
		b.StopTimer()
		w, c, s := convergeRound(b)
		wrote, conv, single, rounds = wrote+w, conv+c, single+s, rounds+1
		b.StartTimer()
	}
	r := time.Duration(rounds)
	b.ReportMetric(float64((wrote / r).Milliseconds()), "write-ms")
	b.ReportMetric(float64((conv / r).Milliseconds()), "converge-ms")
	if refs() {
		b.ReportMetric(float64((single / r).Milliseconds()), "single-ms")
	}
}

// convergeRound starts 8 nodes, has 8 writers bind 1,000 names at once and
// times the writes and the convergence; then the single-writer reference.
func convergeRound(b *testing.B) (wrote, conv, single time.Duration) {
	const total, nodes = 1000, 8
	ns := nodetest.Cluster(b, nodes, func(_ int, c *node.Config) { c.NamesSyncInterval = time.Second })
	defer func() { // the next round starts on an idle machine
		for _, n := range ns {
			n.Close()
		}
	}()
	cls, objs := namesWriters(b, ns)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range ns {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for k := w; k < total; k += nodes {
				if _, err := cls[w].Bind(context.Background(), fmt.Sprintf("/conv/%d/%d", k%10, k), objs[w], client.BindOptions{}); err != nil {
					b.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	wrote = time.Since(start)
	for !namesEqual(ns, total) {
		if time.Since(start) > 2*time.Minute {
			b.Fatal("no convergence within 2 minutes")
		}
		time.Sleep(5 * time.Millisecond)
	}
	conv = time.Since(start)
	if !refs() {
		return wrote, conv, 0
	}
	t0 := time.Now()
	for k := 0; k < total; k++ {
		if _, err := cls[0].Bind(context.Background(), fmt.Sprintf("/single/%d", k), objs[0], client.BindOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	return wrote, conv, time.Since(t0)
}

func namesWriters(b *testing.B, ns []*node.Node) ([]*client.Client, []blocks.Ref) {
	var cls []*client.Client
	var refs []blocks.Ref
	for i, n := range ns {
		c := nodetest.Client(b, n)
		ref, err := c.PutBytes(context.Background(), []byte(fmt.Sprintf("object of writer %d", i)), client.PutOptions{})
		if err != nil {
			b.Fatal(err)
		}
		cls, refs = append(cls, c), append(refs, ref)
	}
	return cls, refs
}

func namesEqual(ns []*node.Node, want int) bool {
	first := fmt.Sprint(ns[0].Names().Namespace().Digests())
	for _, n := range ns {
		if n.Names().Namespace().Len() < want || fmt.Sprint(n.Names().Namespace().Digests()) != first {
			return false
		}
	}
	return true
}

// BenchmarkNameBind: Node.Names().Bind called in the node's process (a
// new version of one of 100 paths: manifest lookup, entry, the bucket
// record rewritten in Badger, the broadcast queued). Reference in the same
// run: as many binds through a client (the rpc round trip added);
// "service/client" is the ratio of the per-op times.
func BenchmarkNameBind(b *testing.B) {
	n := startNode(b)
	c := nodetest.Client(b, n)
	ctx := context.Background()
	ref, err := c.PutBytes(ctx, []byte("bound"), client.PutOptions{})
	if err != nil {
		b.Fatal(err)
	}
	iters := 0
	start := time.Now()
	for b.Loop() {
		if _, err := n.Names().Bind(ctx, fmt.Sprintf("/bind/%d", iters%100), ref, names.BindOptions{}); err != nil {
			b.Fatal(err)
		}
		iters++
	}
	service := time.Since(start) / time.Duration(iters)
	if !refs() {
		return
	}
	k := 0
	viaClient := timePer(b, iters, func() error {
		k++
		_, err := c.Bind(ctx, fmt.Sprintf("/bindc/%d", k%100), ref, client.BindOptions{})
		return err
	})
	b.ReportMetric(float64(viaClient.Microseconds()), "client-us/op")
	b.ReportMetric(float64(service)/float64(viaClient), "service/client")
}
