package bench

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/curve"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/node"
)

// envCurve set to 1 runs BenchmarkCurve (it is skipped otherwise: it moves
// several GiB); envCurveMiB sets its object size (default 256 MiB).
const (
	envCurve    = "EMERGE_BENCH_CURVE"
	envCurveMiB = "EMERGE_BENCH_CURVE_MIB"
)

// BenchmarkCurve: the same remote get, put and prefetch with plaintext and
// with CURVE (every node and the client holding one cluster secret), in the
// same run; with -count the modes alternate. cpu-ns/B is the process's CPU
// time per byte of the object (every node and the client are in the
// process).
//
//   - get: a fresh empty member joins a one-owner cluster (untimed), then
//     Client.GetTo through it: the getter fetches every block from the owner
//     (CURVE hop 1) and serves it to the client (hop 2).
//   - put: Client.Put through member 0 of a two-member cluster with
//     replicas 2: the client sends the object to member 0 (hop 1), which
//     pushes a copy to member 1 (hop 2). Each iteration changes every block.
//   - prefetch: a source outside group g puts the object (replicas 1),
//     then Prefetch to g (two members) and WaitPrefetch until both hold it;
//     MB/s is the object size over that time (each target receives it once).
func BenchmarkCurve(b *testing.B) {
	if os.Getenv(envCurve) != "1" {
		b.Skipf("set %s=1 to run (it moves several GiB)", envCurve)
	}
	size := envInt(b, envCurveMiB, 256) * mib
	for _, op := range []struct {
		name string
		run  func(*testing.B, string, int)
	}{{"get", benchCurveGet}, {"put", benchCurvePut}, {"prefetch", benchCurvePrefetch}} {
		for _, mode := range []string{"plain", "curve"} {
			b.Run(op.name+"/mode="+mode, func(b *testing.B) {
				secret := ""
				if mode == "curve" {
					secret = filepath.Join(b.TempDir(), "secret")
					if err := os.WriteFile(secret, curve.NewSecret(), 0o600); err != nil {
						b.Fatal(err)
					}
				}
				op.run(b, secret, size)
			})
		}
	}
}

// secureCluster starts n members with production sizes and membership
// timers (the tests' fast ones make members suspect each other when the
// machine is busy, and a put waiting for two copies then fails), the secret
// (when given) and mod.
func secureCluster(b *testing.B, n int, secret string, mod func(int, *node.Config)) []*node.Node {
	return nodetest.Cluster(b, n, func(i int, c *node.Config) {
		production(c, secret)
		if mod != nil {
			mod(i, c)
		}
	})
}

func production(c *node.Config, secret string) {
	productionSizes(c)
	def := node.DefaultConfig()
	c.Heartbeat, c.SuspectAfter, c.DeadAfter, c.LocateTimeout = def.Heartbeat, def.SuspectAfter, def.DeadAfter, def.LocateTimeout
	c.SecurityClusterSecretFile = secret
}

func secureClient(b *testing.B, n *node.Node, secret string) *client.Client {
	c, err := client.Dial(context.Background(), n.Endpoint(), &client.Options{ClusterSecretFile: secret, NoShm: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// measure times f over the loop and reports MB/s and cpu-ns/B of size
// bytes per iteration; setup runs untimed before each iteration.
func measure(b *testing.B, size int, setup func(i int), f func(i int)) {
	var took, cpu time.Duration
	iters := 0
	for b.Loop() {
		b.StopTimer()
		setup(iters)
		b.StartTimer()
		start, cpu0 := time.Now(), cpuTime(b)
		f(iters)
		took, cpu = took+time.Since(start), cpu+cpuTime(b)-cpu0
		iters++
	}
	total := int64(iters) * int64(size)
	b.ReportMetric(rate(total, took), "MB/s")
	b.ReportMetric(float64(cpu)/float64(total), "cpu-ns/B")
}

func benchCurveGet(b *testing.B, secret string, size int) {
	owners := secureCluster(b, 1, secret, nil)
	obj := newObject(3, size)
	ref, err := secureClient(b, owners[0], secret).Put(context.Background(), bytes.NewReader(obj.data), client.PutOptions{Replicas: 1})
	if err != nil {
		b.Fatal(err)
	}
	obj = nil
	var g *node.Node
	var c *client.Client
	setup := func(int) {
		if g != nil {
			leave(b, g, c, owners)
		}
		cfg := nodetest.Config(b)
		production(&cfg, secret)
		cfg.Peers = []string{owners[0].Endpoint()}
		g = nodetest.StartConfig(b, cfg)
		nodetest.WaitConverged(b, append(owners[:1:1], g), 2)
		c = secureClient(b, g, secret)
	}
	measure(b, size, setup, func(int) {
		if n, err := c.GetTo(context.Background(), ref, io.Discard); err != nil || n != int64(size) {
			b.Fatalf("remote get: %d bytes of %d, %v", n, size, err)
		}
	})
}

func benchCurvePut(b *testing.B, secret string, size int) {
	nodes := secureCluster(b, 2, secret, nil)
	c := secureClient(b, nodes[0], secret)
	obj := newObject(5, size)
	measure(b, size, func(i int) { obj.stamp(i) }, func(int) {
		if _, err := c.Put(context.Background(), bytes.NewReader(obj.data), client.PutOptions{Replicas: 2, MinReplicas: 2}); err != nil {
			b.Fatal(err)
		}
	})
}

func benchCurvePrefetch(b *testing.B, secret string, size int) {
	nodes := secureCluster(b, 3, secret, func(i int, c *node.Config) {
		if i > 0 {
			c.Groups = []string{"g"}
		}
	})
	c := secureClient(b, nodes[0], secret)
	obj := newObject(7, size)
	ctx := context.Background()
	var ref blocks.Ref
	setup := func(i int) {
		obj.stamp(i)
		var err error
		if ref, err = c.Put(ctx, bytes.NewReader(obj.data), client.PutOptions{Replicas: 1}); err != nil {
			b.Fatal(err)
		}
	}
	measure(b, size, setup, func(int) {
		if err := c.Prefetch(ctx, ref, []string{"g"}, nil); err != nil {
			b.Fatal(err)
		}
		if _, err := c.WaitPrefetch(ctx, ref, 20*time.Millisecond, nil); err != nil {
			b.Fatal(err)
		}
	})
}
