package node_test

import (
	"context"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/internal/testdata"
	"github.com/emerge-dev/emerge/node"
)

// triggerWriter calls fire once after n bytes have passed through.
type triggerWriter struct {
	w     io.Writer
	after int64
	seen  atomic.Int64
	fire  func()
	fired atomic.Bool
}

func (t *triggerWriter) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	if t.seen.Add(int64(n)) >= t.after && t.fired.CompareAndSwap(false, true) {
		t.fire()
	}
	return n, err
}

// Three owners of every block; a fourth node streams the object while the
// owners are killed one after another, until one is left. The get completes
// byte-exact.
func TestGetSurvivesOwnersDyingMidStream(t *testing.T) {
	const size = 96 << 20
	nodes := nodetest.Cluster(t, 3, func(i int, c *node.Config) { c.Replicas = 3; c.FetchWindow = 2 })
	ctx := nodetest.Context(t, 5*time.Minute)
	ref, err := nodetest.Client(t, nodes[0]).Put(ctx, testdata.New(3, size), client.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := nodetest.Config(t)
	nodetest.Fast(&cfg)
	cfg.Peers = []string{nodes[1].Endpoint()}
	reader := nodetest.StartConfig(t, cfg)
	nodetest.WaitConverged(t, append(nodes, reader), 4)

	c := nodetest.Client(t, reader)
	r, err := c.Get(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	d := testdata.NewDigest()
	var killed atomic.Int32
	// Kill an owner after a third and after two thirds of the object.
	second := &triggerWriter{w: d, after: 2 * size / 3, fire: func() { nodes[1].Kill(); killed.Add(1) }}
	first := &triggerWriter{w: second, after: size / 3, fire: func() { nodes[0].Kill(); killed.Add(1) }}
	if _, err := r.WriteTo(first); err != nil {
		t.Fatalf("get after %d owners died: %v", killed.Load(), err)
	}
	if killed.Load() != 2 {
		t.Fatalf("only %d owners were killed", killed.Load())
	}
	if d.Sum() != testdata.Sum(3, size) {
		t.Fatal("object differs after failover")
	}
}

// Two of five nodes crash: with replicas 3, every object stays readable from
// the survivors, and the survivors report both departures.
func TestNodeLossKeepsObjectsReadable(t *testing.T) {
	nodes := nodetest.Cluster(t, 5, func(i int, c *node.Config) { c.Replicas = 3; c.BlockSize = 256 << 10 })
	ctx := nodetest.Context(t, 5*time.Minute)
	c0 := nodetest.Client(t, nodes[0])
	var refs []struct {
		ref  [32]byte
		seed uint64
		size int
	}
	for i := 0; i < 12; i++ {
		size := 1<<20 + i*300_000
		ref, err := c0.PutBytes(ctx, testdata.Bytes(uint64(i), size), client.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, struct {
			ref  [32]byte
			seed uint64
			size int
		}{ref, uint64(i), size})
	}
	nodes[1].Kill()
	nodes[3].Kill()
	survivors := []*node.Node{nodes[0], nodes[2], nodes[4]}
	nodetest.WaitFor(t, time.Minute, "survivors to report both departures", func() bool {
		for _, n := range survivors {
			if stateOf(n, nodes[1].ID()) != 2 || stateOf(n, nodes[3].ID()) != 2 { // StateDead
				return false
			}
		}
		return true
	})
	for _, n := range survivors[1:] {
		c := nodetest.Client(t, n)
		for _, o := range refs {
			got, err := c.GetBytes(ctx, o.ref)
			if err != nil || string(got) != string(testdata.Bytes(o.seed, o.size)) {
				t.Fatalf("object %x from %s after two nodes died: %v", o.ref[:6], n.ID(), err)
			}
		}
	}
	_ = context.Background
}
