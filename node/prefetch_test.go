package node_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/internal/testdata"
	"github.com/emerge-dev/emerge/node"
)

// holdsAll reports, through n's store, whether n holds the manifest and
// every block of ref.
func holdsAll(n *node.Node, ref blocks.Ref) bool {
	m, _, err := n.Store().Manifest(ref)
	if err != nil {
		return false
	}
	has, err := n.Store().HasBlocks(m.Blocks)
	return err == nil && !slices.Contains(has, false)
}

func groupOf(groups ...string) func(c *node.Config) {
	return func(c *node.Config) { c.Groups = groups }
}

// putFile streams size bytes of seed through c.
func putFile(t *testing.T, ctx context.Context, c *client.Client, seed uint64, size int64, o client.PutOptions) blocks.Ref {
	t.Helper()
	ref, err := c.Put(ctx, testdata.New(seed, size), o)
	if err != nil {
		t.Fatalf("put: %v", err)
	}
	return ref
}

// 8 nodes, a group of 6 that excludes the source: every member ends up
// holding every block, and the source sends far fewer than 6 copies because
// members serve each other. 32 MiB by default; EMERGE_LONG=1 runs 300 MiB.
func TestPrefetchSwarmToGroup(t *testing.T) {
	size := int64(32 << 20)
	if os.Getenv("EMERGE_LONG") != "" {
		size = 300 << 20
	}
	nodes := nodetest.Cluster(t, 8, func(i int, c *node.Config) {
		if i >= 2 {
			c.Groups = []string{"actor"}
		}
	})
	members := nodes[2:]
	nodetest.WaitFor(t, 10*time.Second, "groups to spread", func() bool {
		return countInGroup(nodes[0], "actor") == 6
	})
	ctx := nodetest.Context(t, 5*time.Minute)
	src := nodetest.Client(t, nodes[0])
	start := time.Now()
	ref := putFile(t, ctx, src, 1, size, client.PutOptions{PrefetchGroups: []string{"actor"}})
	put := time.Since(start)
	st, err := src.WaitPrefetch(ctx, ref, 50*time.Millisecond, nil)
	if err != nil {
		t.Fatalf("wait: %v (%+v)", err, st)
	}
	took := time.Since(start)
	for i, n := range members {
		if !holdsAll(n, ref) {
			t.Fatalf("member %d (%s) reported done but lacks blocks", i, n.ID())
		}
	}
	if len(st.Nodes) != 6 {
		t.Fatalf("status lists %d targets, want 6", len(st.Nodes))
	}
	copies := float64(st.Served) / float64(size)
	t.Logf("%d MiB to 6 members: put %s, all held after %s; source served %.2f copies",
		size>>20, put.Round(time.Millisecond), took.Round(time.Millisecond), copies)
	if copies >= 3 {
		t.Fatalf("source served %.2f copies of the object, want under 3", copies)
	}
}

func countInGroup(n *node.Node, group string) int {
	c := 0
	for _, m := range n.Live() {
		if m.InGroup(group) {
			c++
		}
	}
	return c
}

// A member killed mid-prefetch does not stop the others, and finishes
// once restarted.
func TestPrefetchMemberDies(t *testing.T) {
	nodes := nodetest.Cluster(t, 5, func(i int, c *node.Config) {
		if i >= 1 {
			c.Groups = []string{"actor"}
		}
		c.BlockSize = 256 << 10
	})
	nodetest.WaitFor(t, 10*time.Second, "groups to spread", func() bool {
		return countInGroup(nodes[0], "actor") == 4
	})
	ctx := nodetest.Context(t, 2*time.Minute)
	src := nodetest.Client(t, nodes[0])
	ref := putFile(t, ctx, src, 2, 48<<20, client.PutOptions{PrefetchGroups: []string{"actor"}})
	victim := nodes[4]
	nodetest.WaitFor(t, 30*time.Second, "the victim to start", func() bool {
		m, _, err := victim.Store().Manifest(ref)
		if err != nil {
			return false
		}
		has, _ := victim.Store().HasBlocks(m.Blocks)
		return slices.Contains(has, true)
	})
	victim.Kill()
	nodetest.WaitFor(t, 60*time.Second, "the other members to hold the object", func() bool {
		return holdsAll(nodes[1], ref) && holdsAll(nodes[2], ref) && holdsAll(nodes[3], ref)
	})
	nodetest.WaitConverged(t, nodes[:4], 4)
	if _, err := src.WaitPrefetch(ctx, ref, 50*time.Millisecond, nil); err != nil {
		t.Fatalf("wait after the kill: %v", err)
	}
	// Restarted on its data directory, the victim finishes what it started.
	back := nodetest.StartConfig(t, victim.Config())
	nodetest.WaitFor(t, 30*time.Second, "the restarted member to hold the object", func() bool {
		return holdsAll(back, ref)
	})
}

// A node that joins the group later (a new node, or one joining through
// RegisterGroup) catches up on live prefetches, but not on deleted ones.
func TestPrefetchLateJoinerAndDelete(t *testing.T) {
	nodes := nodetest.Cluster(t, 3, func(i int, c *node.Config) {
		if i == 1 {
			c.Groups = []string{"actor"}
		}
	})
	ctx := nodetest.Context(t, time.Minute)
	src := nodetest.Client(t, nodes[0])
	o := client.PutOptions{PrefetchGroups: []string{"actor"}}
	live := putFile(t, ctx, src, 3, 3<<20, o)
	gone := putFile(t, ctx, src, 4, 3<<20, o)
	if _, err := src.WaitPrefetch(ctx, live, 50*time.Millisecond, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Delete(ctx, gone); err != nil {
		t.Fatal(err)
	}

	cfg := nodetest.Config(t)
	nodetest.Fast(&cfg)
	cfg.Replicas, cfg.Groups, cfg.Peers = 2, []string{"actor"}, []string{nodes[0].Endpoint()}
	late := nodetest.StartConfig(t, cfg)
	nodetest.WaitFor(t, 20*time.Second, "the new member to hold the live object", func() bool {
		return holdsAll(late, live)
	})
	joiner := nodetest.Client(t, nodes[2])
	if _, err := joiner.RegisterGroup(ctx, "actor"); err != nil {
		t.Fatal(err)
	}
	nodetest.WaitFor(t, 20*time.Second, "the node that joined the group to hold the live object", func() bool {
		return holdsAll(nodes[2], live)
	})
	nodetest.WaitFor(t, 10*time.Second, "the source to see 3 members in the group", func() bool {
		return countInGroup(nodes[0], "actor") == 3
	})
	st, err := src.WaitPrefetch(ctx, live, 50*time.Millisecond, nil)
	if err != nil || len(st.Nodes) != 3 {
		t.Fatalf("status after the joins: %d targets, %v", len(st.Nodes), err)
	}
	byID := putFile(t, ctx, src, 5, 2<<20, client.PutOptions{PrefetchNodes: []string{late.ID()}})
	st, err = src.WaitPrefetch(ctx, byID, 50*time.Millisecond, nil)
	if err != nil || len(st.Nodes) != 1 || st.Nodes[0].Node != late.ID() || !holdsAll(late, byID) {
		t.Fatalf("prefetch to a node by id: %+v, %v", st, err)
	}
	for _, n := range []*node.Node{nodes[1], nodes[2], late} {
		if _, _, err := n.Store().Manifest(gone); err == nil {
			t.Fatalf("node %s holds the deleted object", n.ID())
		}
	}
}

// Groups joined at run time survive a restart and spread to the members.
func TestGroupsSurviveRestart(t *testing.T) {
	cfg := nodetest.Config(t)
	nodetest.Fast(&cfg)
	cfg.Groups = []string{"base"}
	n := nodetest.StartConfig(t, cfg)
	c := nodetest.Client(t, n)
	ctx := nodetest.Context(t, 30*time.Second)
	gs, err := c.RegisterGroup(ctx, "actor")
	if err != nil || !slices.Equal(gs, []string{"actor", "base"}) {
		t.Fatalf("join: %v %v", gs, err)
	}
	if _, err := c.RegisterGroup(ctx, ""); err == nil {
		t.Fatal("empty group name accepted")
	}
	if gs, err = c.UnregisterGroup(ctx, "nope"); err != nil || len(gs) != 2 {
		t.Fatalf("leave of a group not joined: %v %v", gs, err)
	}
	c.Close()
	n.Close()
	n2 := nodetest.StartConfig(t, cfg)
	if got := n2.Groups(); !slices.Equal(got, []string{"actor", "base"}) {
		t.Fatalf("after restart: groups %v", got)
	}
	peerCfg := nodetest.Config(t)
	nodetest.Fast(&peerCfg)
	peerCfg.Peers = []string{n2.Endpoint()}
	peer := nodetest.StartConfig(t, peerCfg)
	nodetest.WaitFor(t, 10*time.Second, "the peer to see the groups", func() bool {
		return countInGroup(peer, "actor") == 1
	})
}

// A delete right after the put stops the prefetch everywhere: no member
// ends up holding the object, and the intent is gone.
func TestPrefetchStoppedByDelete(t *testing.T) {
	nodes := nodetest.Cluster(t, 3, func(i int, c *node.Config) {
		if i > 0 {
			c.Groups = []string{"actor"}
		}
		c.BlockSize = 256 << 10
	})
	nodetest.WaitFor(t, 10*time.Second, "groups to spread", func() bool {
		return countInGroup(nodes[0], "actor") == 2
	})
	ctx := nodetest.Context(t, time.Minute)
	src := nodetest.Client(t, nodes[0])
	ref := putFile(t, ctx, src, 6, 16<<20, client.PutOptions{PrefetchGroups: []string{"actor"}, Replicas: 1})
	if _, err := src.Delete(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if _, err := src.PrefetchStatus(ctx, ref); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("status after the delete: %v", err)
	}
	nodetest.WaitFor(t, 10*time.Second, "no node to hold the deleted object", func() bool {
		for _, n := range nodes {
			if _, _, err := n.Store().Manifest(ref); err == nil {
				return false
			}
		}
		return true
	})
}
