package nodetest

import (
	"testing"
	"time"

	"github.com/emerge-dev/emerge/node"
)

// Fast shortens the membership timers so tests see joins, deaths and
// departures in well under a second.
func Fast(c *node.Config) {
	c.Heartbeat = 100 * time.Millisecond
	c.SuspectAfter = 400 * time.Millisecond
	c.DeadAfter = time.Second
	c.LocateTimeout = 3 * time.Second
}

// Cluster starts n nodes in this process, each with Config(t), Fast timers
// and mod applied (mod may be nil; it receives the node's index), the first
// as seed of the others, and waits until every node sees all n live.
func Cluster(t testing.TB, n int, mod func(i int, c *node.Config)) []*node.Node {
	t.Helper()
	nodes := make([]*node.Node, 0, n)
	for i := 0; i < n; i++ {
		cfg := Config(t)
		Fast(&cfg)
		cfg.Replicas = min(n, 2)
		if i > 0 {
			cfg.Peers = []string{nodes[0].Endpoint()}
		}
		if mod != nil {
			mod(i, &cfg)
		}
		nodes = append(nodes, StartConfig(t, cfg))
	}
	WaitConverged(t, nodes, n)
	return nodes
}

// WaitConverged waits until every node in nodes sees exactly want live members.
func WaitConverged(t testing.TB, nodes []*node.Node, want int) {
	t.Helper()
	WaitFor(t, 30*time.Second, "membership to converge", func() bool {
		for _, n := range nodes {
			if len(n.Live()) != want {
				return false
			}
		}
		return true
	})
}
