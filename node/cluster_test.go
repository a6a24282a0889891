package node_test

import (
	"testing"
	"time"

	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/node"
	"github.com/emerge-dev/emerge/registry"
)

func stateOf(n *node.Node, id string) registry.State {
	for _, st := range n.Members() {
		if st.ID == id {
			return st.State
		}
	}
	return 255
}

func TestMembershipJoinLeaveCrash(t *testing.T) {
	nodes := nodetest.Cluster(t, 5, nil)
	// A graceful leave is seen at once, through rpc and the bus.
	left := nodes[4]
	left.Close()
	nodetest.WaitFor(t, 10*time.Second, "the departure to be seen", func() bool {
		for _, n := range nodes[:4] {
			if stateOf(n, left.ID()) != registry.StateLeft {
				return false
			}
		}
		return true
	})
	// A crash is noticed by silence: suspect, then dead.
	crashed := nodes[3]
	crashed.Kill()
	nodetest.WaitFor(t, 10*time.Second, "the crash to be noticed", func() bool {
		for _, n := range nodes[:3] {
			if stateOf(n, crashed.ID()) != registry.StateDead {
				return false
			}
		}
		return true
	})
	nodetest.WaitConverged(t, nodes[:3], 3)
}

// A node restarted with its data dir keeps its id, knows the network from
// its persisted table before anyone answers, and rejoins without seeds.
func TestRestartRejoinsFromPersistedTable(t *testing.T) {
	var cfgs []node.Config
	nodes := nodetest.Cluster(t, 3, func(i int, c *node.Config) { cfgs = append(cfgs, *c) })
	victim := nodes[2]
	id := victim.ID()
	victim.Kill()
	nodetest.WaitFor(t, 10*time.Second, "the crash to be noticed", func() bool {
		return stateOf(nodes[0], id) == registry.StateDead
	})
	cfg := cfgs[2]
	cfg.Peers = nil // rejoin from the persisted table alone
	back := nodetest.StartConfig(t, cfg)
	if back.ID() != id {
		t.Fatalf("restarted node got a new id: %s -> %s", id, back.ID())
	}
	nodetest.WaitConverged(t, []*node.Node{nodes[0], nodes[1], back}, 3)
}
