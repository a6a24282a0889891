package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/node"
)

// envLong set to 1 makes BenchmarkRemoteGet move 1 GiB instead of 256 MiB.
const envLong = "EMERGE_LONG"

// BenchmarkRemoteGet: Client.GetTo(io.Discard) through a node that holds
// nothing of the object (a fresh member each iteration, joined before the
// timer starts), from a cluster where one member or three members hold
// every block. Each block is hashed once, by the fetching node on receipt:
// the owner serves peers unchecked (the receiver hashes), and the client, on
// the nodes' machine, trusts its node's check (client.Options.VerifyLocal).
// Variants with one owner: cache=off, the fetching node keeps no cached
// copy (cache_off); shm, the fetching node has shared memory on, so the
// client (on its machine) asks for the hot copy first, streams while the
// node fetches, and the node makes the hot copy behind the stream — the
// CPU then counts until the hot copy is sealed.
// References in the same run: the same get through an
// owner (local) and the same bytes through one loopback TCP connection.
// cpu-ns/B is the process's CPU time (all nodes, client, both sides of the
// TCP reference) per byte moved: on 2 cores, 2/cpu-ns/B GB/s is the most
// the same work could reach with the machine to itself.
func BenchmarkRemoteGet(b *testing.B) {
	size, name := 256*mib, "256MiB"
	if os.Getenv(envLong) == "1" {
		size, name = 1024*mib, "1GiB"
	}
	for _, owners := range []int{1, 3} {
		b.Run(fmt.Sprintf("owners=%d/size=%s", owners, name), func(b *testing.B) { benchRemoteGet(b, owners, size, getter{}) })
	}
	b.Run("owners=1/cache=off/size="+name, func(b *testing.B) { benchRemoteGet(b, 1, size, getter{cacheOff: true}) })
	b.Run("owners=1/shm/size="+name, func(b *testing.B) { benchRemoteGet(b, 1, size, getter{shm: true}) })
	b.Run("owners=1/shm/cache=off/size="+name, func(b *testing.B) {
		benchRemoteGet(b, 1, size, getter{shm: true, cacheOff: true})
	})
}

// getter is how the fetching node of BenchmarkRemoteGet runs.
type getter struct {
	cacheOff bool // cache_off
	shm      bool // shared memory on (the client is on its machine)
}

func benchRemoteGet(b *testing.B, k, size int, how getter) {
	owners := startOwners(b, k)
	ref := putEverywhere(b, owners, newObject(3, size))
	ctx := context.Background()
	var took, cpu time.Duration
	var faults int64
	iters := 0
	for b.Loop() {
		b.StopTimer()
		g, c := joinGetter(b, owners, how)
		b.StartTimer()
		start, cpu0, flt0 := time.Now(), cpuTime(b), minorFaults(b)
		n, err := c.GetTo(ctx, ref, io.Discard)
		took = took + time.Since(start)
		if how.shm {
			waitHot(b, g, ref)
		}
		cpu = cpu + cpuTime(b) - cpu0
		faults += minorFaults(b) - flt0
		b.StopTimer()
		if err != nil || n != int64(size) {
			b.Fatalf("remote get: %d bytes of %d, %v", n, size, err)
		}
		leave(b, g, c, owners)
		iters++
		b.StartTimer()
	}
	total := int64(iters) * int64(size)
	remote := rate(total, took)
	b.ReportMetric(remote, "MB/s")
	b.ReportMetric(float64(cpu)/float64(total), "cpu-ns/B")
	b.ReportMetric(float64(faults)/float64(total>>20), "faults/MiB")
	if !refs() {
		return
	}
	cpu0 := cpuTime(b)
	reportRef(b, remote, "local", localGets(b, owners[0], ref, iters, size), iters, size)
	cpu1 := cpuTime(b)
	reportRef(b, remote, "tcp", mustDur(b)(tcpCopy(total)), iters, size)
	b.ReportMetric(float64(cpu1-cpu0)/float64(total), "local-cpu-ns/B")
	b.ReportMetric(float64(cpuTime(b)-cpu1)/float64(total), "tcp-cpu-ns/B")
}

// waitHot waits until the getter's hot copy of ref is sealed.
func waitHot(b *testing.B, g *node.Node, ref blocks.Ref) {
	deadline := time.Now().Add(time.Minute)
	for !g.Shm().Has(ref) {
		if time.Now().After(deadline) {
			b.Fatalf("no hot copy of %s a minute after the get", ref.Short())
		}
		time.Sleep(time.Millisecond)
	}
}

// cpuTime is the CPU time (user and system) this process has used so far:
// with every node in the process, the CPU a get costs all of them, which
// other work on the machine disturbs far less than it does wall-clock rates.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// minorFaults is the page faults this process has taken so far that
// needed no disk read: mostly first touches of fresh memory (new heap
// pages, a new value-log file's mapping). 256 per MiB moved is one per 4 KiB
// page of the object; this VM pays dearly for each.
func minorFaults(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Minflt
}

// productionSizes gives a node the Badger sizes of a real one, as startNode,
// and, as there, no shared memory: the client runs on the node's machine, so
// it would read hot copies through views and these figures would measure
// the shared-memory path (see BenchmarkShmGet) instead of the network's.
func productionSizes(c *node.Config) {
	c.ShmOff = true
	def := node.DefaultConfig()
	c.MemTableSize = def.MemTableSize
	c.BlockCacheSize = def.BlockCacheSize
	c.ValueLogFileSize = def.ValueLogFileSize
}

// startOwners runs a cluster of k members whose puts keep k replicas, so
// that every member holds every block.
func startOwners(b *testing.B, k int) []*node.Node {
	return nodetest.Cluster(b, k, func(_ int, c *node.Config) {
		productionSizes(c)
		c.Replicas = k
	})
}

// putEverywhere puts obj through the first owner and checks that every
// owner holds every block; the object's bytes are dropped afterwards.
func putEverywhere(b *testing.B, owners []*node.Node, obj *object) blocks.Ref {
	c := nodetest.Client(b, owners[0])
	ref, err := c.Put(context.Background(), bytes.NewReader(obj.data), client.PutOptions{Replicas: len(owners)})
	if err != nil {
		b.Fatal(err)
	}
	var ids []blocks.ID
	for _, v := range obj.blocks() {
		ids = append(ids, blocks.Sum(v))
	}
	for _, o := range owners {
		if held := countHeld(b, o, ids); held != len(ids) {
			b.Fatalf("owner %s holds %d of %d blocks", o.ID(), held, len(ids))
		}
	}
	return ref
}

func countHeld(b *testing.B, n *node.Node, ids []blocks.ID) int {
	has, err := n.Store().HasBlocks(ids)
	if err != nil {
		b.Fatal(err)
	}
	held := 0
	for _, h := range has {
		if h {
			held++
		}
	}
	return held
}

// joinGetter starts an empty member seeded by the first owner, run as how says, waits until
// every member sees it, and dials it.
func joinGetter(b *testing.B, owners []*node.Node, how getter) (*node.Node, *client.Client) {
	cfg := nodetest.Config(b)
	nodetest.Fast(&cfg)
	productionSizes(&cfg)
	cfg.CacheOff, cfg.ShmOff = how.cacheOff, !how.shm
	cfg.Peers = []string{owners[0].Endpoint()}
	g := nodetest.StartConfig(b, cfg)
	nodetest.WaitConverged(b, append(owners[:len(owners):len(owners)], g), len(owners)+1)
	c, err := client.Dial(context.Background(), g.Endpoint(), nil)
	if err != nil {
		b.Fatal(err)
	}
	return g, c
}

// leave closes the getter, deletes its data (a 1 GiB copy per iteration
// otherwise stays on disk until the benchmark ends) and waits until the
// owners see it gone.
func leave(b *testing.B, g *node.Node, c *client.Client, owners []*node.Node) {
	c.Close()
	if err := g.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.RemoveAll(g.Config().DataDir); err != nil {
		b.Fatal(err)
	}
	nodetest.WaitConverged(b, owners, len(owners))
}

// localGets times iters gets of ref through owner, which holds it.
func localGets(b *testing.B, owner *node.Node, ref blocks.Ref, iters, size int) time.Duration {
	c := nodetest.Client(b, owner)
	start := time.Now()
	for i := 0; i < iters; i++ {
		if n, err := c.GetTo(context.Background(), ref, io.Discard); err != nil || n != int64(size) {
			b.Fatalf("local get: %d bytes of %d, %v", n, size, err)
		}
	}
	return time.Since(start)
}

// BenchmarkReplicatedPut: a 256 MiB put (Client.Put, streamed) through
// member 0 of three, at replicas 1 and at replicas 2 (min_replicas 2, so
// the put returns once the second copy is stored), alternately in each
// iteration. Every put stores fresh blocks (obj.stamp), and the object is
// deleted afterwards, untimed. Reported: MB/s and cpu-ns/B of each, and
// r2/r1, the replicated put's rate over the single copy's, same run, and
// r2/r1-med, the median over the iterations of that ratio within one
// iteration (the two puts back to back see about the same load).
func BenchmarkReplicatedPut(b *testing.B) {
	size := 256 * mib
	nodes := nodetest.Cluster(b, 3, func(_ int, c *node.Config) { productionSizes(c) })
	c := nodetest.Client(b, nodes[0])
	obj := newObject(11, size)
	ctx := context.Background()
	var took, cpu [3]time.Duration
	var pairs []float64
	i := 0
	for b.Loop() {
		var once [3]time.Duration
		for _, r := range []int{1, 2} {
			b.StopTimer()
			i++
			obj.stamp(i)
			b.StartTimer()
			start, cpu0 := time.Now(), cpuTime(b)
			ref, err := c.Put(ctx, bytes.NewReader(obj.data), client.PutOptions{Replicas: r, MinReplicas: r})
			once[r] = time.Since(start)
			took[r], cpu[r] = took[r]+once[r], cpu[r]+cpuTime(b)-cpu0
			b.StopTimer()
			if err != nil {
				b.Fatalf("put at replicas %d: %v", r, err)
			}
			if _, err := c.Delete(ctx, ref); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		pairs = append(pairs, float64(once[1])/float64(once[2]))
	}
	total := int64(i/2) * int64(size)
	r1, r2 := rate(total, took[1]), rate(total, took[2])
	b.ReportMetric(r1, "r1-MB/s")
	b.ReportMetric(r2, "r2-MB/s")
	b.ReportMetric(r2/r1, "r2/r1")
	b.ReportMetric(median(pairs), "r2/r1-med")
	b.ReportMetric(float64(cpu[1])/float64(total), "r1-cpu-ns/B")
	b.ReportMetric(float64(cpu[2])/float64(total), "r2-cpu-ns/B")
}
