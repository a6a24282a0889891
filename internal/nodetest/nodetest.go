// Package nodetest starts real emerge nodes for tests: in this process
// (Start, Cluster) with real Badger directories and real sockets on
// 127.0.0.1, each cleaned up through t.Cleanup.
package nodetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/node"
)

// Config returns a node config for tests: an ephemeral port, a fresh data
// directory, and Badger sized small so many nodes fit in one process.
func Config(t testing.TB) node.Config {
	cfg := node.DefaultConfig()
	cfg.Listen = "tcp://127.0.0.1:*"
	cfg.PubListen = "tcp://127.0.0.1:*"
	cfg.DataDir = t.TempDir()
	cfg.MemTableSize = 8 << 20
	cfg.BlockCacheSize = 8 << 20
	cfg.ValueLogFileSize = 64 << 20
	cfg.Replicas = 1 // a node alone; clusters set their own
	cfg.ShmDir = ShmDir(t)
	return cfg
}

// Start runs a node with Config(t) changed by mod (may be nil).
func Start(t testing.TB, mod func(*node.Config)) *node.Node {
	t.Helper()
	cfg := Config(t)
	if mod != nil {
		mod(&cfg)
	}
	return StartConfig(t, cfg)
}

// StartConfig runs a node with exactly cfg. At cleanup it checks the
// node's store (store.Check: no use of a missing block, no orphan block,
// no orphan use past the grace, exact counters) and closes the node.
func StartConfig(t testing.TB, cfg node.Config) *node.Node {
	t.Helper()
	n, err := node.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		CheckStore(t, n)
		n.Close()
	})
	return n
}

// CheckStore fails the test when the store of a running node breaks its
// invariants. A node closed or killed already is skipped.
func CheckStore(t testing.TB, n *node.Node) {
	t.Helper()
	probs, err := n.Store().Check()
	if errors.Is(err, blocks.ErrClosed) {
		return
	}
	if err != nil || len(probs) > 0 {
		t.Errorf("node %s: store inconsistent: %v %v", n.ID(), err, probs)
	}
}

// Client dials n and closes the client at cleanup.
func Client(t testing.TB, n *node.Node) *client.Client {
	t.Helper()
	c, err := client.Dial(context.Background(), n.Endpoint(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Context returns a context that ends with the test or after d.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// WaitFor polls cond until it holds or d passes.
func WaitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
