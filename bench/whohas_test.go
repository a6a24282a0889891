package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/node"
	"github.com/emerge-dev/emerge/pubsub"
	"github.com/emerge-dev/emerge/rpc"
	zmq "github.com/pebbe/zmq4"
)

// envNodes sets BenchmarkWhoHas's cluster size (default 16).
const envNodes = "EMERGE_BENCH_NODES"

// BenchmarkWhoHas: who-has lookups on a 16-member in-process cluster
// (EMERGE_BENCH_NODES; two replicas, the default). Each iteration puts a
// fresh 4 KiB object (untimed) and times files.Service.Locate of its block
// on a member that holds none of it: the broadcast, every member checking
// its store, the owners answering over rpc. Locate always broadcasts, so no
// location cache is involved. It reports the p50 and p99 of the time to the
// first answer ("first", when a fetch could start) and to Locate's return
// ("done", which includes the 10 ms files waits for further owners after the
// first answer; "found/holders" is the share of holders heard from by then).
// References in the same run and process: an rpc Ping round trip to a
// member, and one pub/sub hop between two fresh buses; ratios are
// lookup/reference (how many pings a lookup costs; above 1 is slower).
func BenchmarkWhoHas(b *testing.B) {
	nodes := nodetest.Cluster(b, envInt(b, envNodes, 16), productionTimers)
	c := nodetest.Client(b, nodes[0])
	buf := newObject(9, smallSize).data
	ctx := context.Background()
	connectAll(b, c, nodes, buf)
	var first, done []time.Duration
	answered, holders := 0, 0
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		id := putSmallFresh(b, c, buf, i)
		asker := notHolding(b, nodes, id, i)
		b.StartTimer()
		start := time.Now()
		found, d := asker.Files().Locate(ctx, []blocks.ID{id}, 3*time.Second)
		done = append(done, time.Since(start))
		b.StopTimer()
		holders += checkOwners(b, nodes, id, found[id])
		answered += len(slices.Compact(slices.Sorted(slices.Values(found[id]))))
		first = append(first, d)
		b.StartTimer()
	}
	b.ReportMetric(float64(answered)/float64(holders), "found/holders")
	reportLatency(b, "first", first)
	reportLatency(b, "done", done)
	if !refs() {
		return
	}
	ping := pings(b, nodes[len(nodes)-1], len(first))
	reportLatency(b, "ping", ping)
	hop := hops(b, len(first))
	reportLatency(b, "hop", hop)
	for _, q := range []float64{50, 99} {
		p := fmtQ(q)
		b.ReportMetric(float64(quantile(first, q))/float64(quantile(ping, q)), "first/ping-"+p)
		b.ReportMetric(float64(quantile(first, q))/float64(quantile(hop, q)), "first/hop-"+p)
	}
}

// productionTimers undoes nodetest.Fast: with 100 ms heartbeats, 16
// members send each other 2400 heartbeats a second, a load a real cluster
// (1 s) does not have.
func productionTimers(_ int, c *node.Config) {
	def := node.DefaultConfig()
	c.Heartbeat, c.SuspectAfter, c.DeadAfter = def.Heartbeat, def.SuspectAfter, def.DeadAfter
}

// connectAll makes every member answer a who-has of every other (an object
// all of them hold), so that the timed lookups find the members' rpc
// connections to each other open, as in a cluster that has run a while.
func connectAll(b *testing.B, c *client.Client, nodes []*node.Node, buf []byte) {
	binary.LittleEndian.PutUint64(buf, 0)
	if _, err := c.PutBytes(context.Background(), buf, client.PutOptions{Replicas: len(nodes)}); err != nil {
		b.Fatal(err)
	}
	id := blocks.Sum(buf)
	for _, n := range nodes {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		for got := 0; got < len(nodes)-1 && ctx.Err() == nil; {
			found, _ := n.Files().Locate(ctx, []blocks.ID{id}, time.Second)
			got = len(slices.Compact(slices.Sorted(slices.Values(found[id]))))
		}
		cancel()
	}
}

// putSmallFresh puts buf stamped with i and returns its block id.
func putSmallFresh(b *testing.B, c *client.Client, buf []byte, i int) blocks.ID {
	binary.LittleEndian.PutUint64(buf, uint64(i)+1)
	if _, err := c.PutBytes(context.Background(), buf, client.PutOptions{}); err != nil {
		b.Fatal(err)
	}
	return blocks.Sum(buf)
}

// notHolding returns a member that does not hold id, rotating with i.
func notHolding(b *testing.B, nodes []*node.Node, id blocks.ID, i int) *node.Node {
	for j := range nodes {
		n := nodes[(i+j)%len(nodes)]
		if countHeld(b, n, []blocks.ID{id}) == 0 {
			return n
		}
	}
	b.Fatal("every member holds the block")
	return nil
}

// checkOwners fails b unless found names some of the members holding id and
// no other; it returns how many holders there are.
func checkOwners(b *testing.B, nodes []*node.Node, id blocks.ID, found []string) int {
	var want []string
	for _, n := range nodes {
		if countHeld(b, n, []blocks.ID{id}) == 1 {
			want = append(want, n.ID())
		}
	}
	if len(found) == 0 {
		b.Fatalf("who-has of %s found no owner; holders are %v", id.Short(), want)
	}
	for _, f := range found {
		if !slices.Contains(want, f) {
			b.Fatalf("who-has of %s found %v; holders are %v", id.Short(), found, want)
		}
	}
	return len(want)
}

// pings times n rpc Ping round trips to member n over one connection from
// this process (warmed up first).
func pings(b *testing.B, to *node.Node, n int) []time.Duration {
	zctx, err := zmq.NewContext()
	if err != nil {
		b.Fatal(err)
	}
	defer zctx.Term()
	conn, err := rpc.Dial(rpc.ConnConfig{Context: zctx, Endpoint: to.Endpoint()})
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	out := make([]time.Duration, 0, n)
	for i := -10; i < n; i++ {
		start := time.Now()
		if _, err := conn.Call(ctx, rpc.OpPing, &rpc.PingReq{}, nil); err != nil {
			b.Fatal(err)
		}
		if i >= 0 {
			out = append(out, time.Since(start))
		}
	}
	return out
}

// hops times n one-way deliveries of a one-id who-has between two fresh
// ZeroMQ buses in this process, one message in flight at a time.
func hops(b *testing.B, n int) []time.Duration {
	zctx, err := zmq.NewContext()
	if err != nil {
		b.Fatal(err)
	}
	defer zctx.Term()
	pub, sub := newBus(b, zctx, "bench-pub"), newBus(b, zctx, "bench-sub")
	defer pub.Close()
	defer sub.Close()
	if err := sub.Connect(pub.Endpoint()); err != nil {
		b.Fatal(err)
	}
	m := pubsub.Message{Type: pubsub.TypeWhoHas, ReqID: 1, ReplyTo: "tcp://127.0.0.1:1", IDs: []blocks.ID{{1}}}
	waitSubscribed(b, pub, sub, m)
	out := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		m.ReqID = uint64(i) + 2
		start := time.Now()
		if err := pub.Publish(context.Background(), m); err != nil {
			b.Fatal(err)
		}
		if got := <-sub.Messages(); got.ReqID != m.ReqID {
			b.Fatalf("hop: message %d arrived, want %d", got.ReqID, m.ReqID)
		}
		out = append(out, time.Since(start))
	}
	return out
}

func newBus(b *testing.B, zctx *zmq.Context, name string) *pubsub.ZMQBus {
	bus, err := pubsub.NewZMQ(pubsub.Config{Context: zctx, NodeID: name, Listen: "tcp://127.0.0.1:*"})
	if err != nil {
		b.Fatal(err)
	}
	return bus
}

// waitSubscribed publishes m (ReqID 1) until sub hears it, then drains the
// probes still on their way.
func waitSubscribed(b *testing.B, pub, sub pubsub.Bus, m pubsub.Message) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := pub.Publish(context.Background(), m); err != nil {
			b.Fatal(err)
		}
		select {
		case <-sub.Messages():
			for {
				select {
				case <-sub.Messages():
				case <-time.After(50 * time.Millisecond):
					return
				}
			}
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.Fatal("subscriber never joined")
		}
	}
}

// reportLatency reports the p50 and p99 of ds in µs (unit \"us\").
func reportLatency(b *testing.B, name string, ds []time.Duration) {
	for _, q := range []float64{50, 99} {
		b.ReportMetric(float64(quantile(ds, q))/1e3, name+"-"+fmtQ(q)+"-us")
	}
}

func fmtQ(q float64) string { return fmt.Sprintf("p%.0f", q) }

// quantile is the nearest-rank q-th percentile of ds.
func quantile(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	k := int(q/100*float64(len(s))+0.999999) - 1
	return s[max(0, min(k, len(s)-1))]
}
