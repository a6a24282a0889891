package node_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/internal/testdata"
	"github.com/emerge-dev/emerge/node"
)

// 5 nodes, replicas 3: objects of mixed sizes put through different nodes
// are read back byte-exact from every node.
func TestClusterPutGetEverywhere(t *testing.T) {
	objects := 100
	if testing.Short() {
		objects = 20
	}
	nodes := nodetest.Cluster(t, 5, func(i int, c *node.Config) {
		c.Replicas = 3
		c.BlockSize = 256 << 10
	})
	clients := make([]*client.Client, len(nodes))
	for i, n := range nodes {
		clients[i] = nodetest.Client(t, n)
	}
	ctx := nodetest.Context(t, 5*time.Minute)
	sizes := []int{0, 1, 1000, 256 << 10, 256<<10 + 1, 1 << 20, 3<<20 + 17}
	refs := make([]blocks.Ref, objects)
	for i := range refs {
		data := testdata.Bytes(uint64(i), sizes[i%len(sizes)]+i)
		ref, err := clients[i%len(clients)].PutBytes(ctx, data, client.PutOptions{})
		if err != nil {
			t.Fatalf("put %d through node %d: %v", i, i%len(clients), err)
		}
		refs[i] = ref
	}
	for i, ref := range refs {
		want := testdata.Bytes(uint64(i), sizes[i%len(sizes)]+i)
		for j, c := range clients {
			got, err := c.GetBytes(ctx, ref)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("object %d (%s) from node %d: %d bytes, %v", i, ref.Short(), j, len(got), err)
			}
		}
	}
	// Every block is on at least 3 nodes' stores.
	for i, ref := range refs[:10] {
		info, _ := clients[0].Stat(ctx, ref)
		_ = info
		assertReplicas(t, nodes, ref, 3, fmt.Sprint("object ", i))
	}
}

// assertReplicas checks, through the nodes' stores, that each block of ref
// is held by at least n nodes.
func assertReplicas(t *testing.T, nodes []*node.Node, ref blocks.Ref, n int, what string) {
	t.Helper()
	m, _, err := nodes[0].Store().Manifest(ref)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	for _, id := range m.Blocks {
		count := 0
		for _, nd := range nodes {
			if has, _ := nd.Store().HasBlocks([]blocks.ID{id}); has[0] {
				count++
			}
		}
		if count < n {
			t.Fatalf("%s: block %s on %d nodes, want at least %d", what, id.Short(), count, n)
		}
	}
}

// A put waits for min_replicas copies: more than there are members fails
// naming the cause; a target above the members is stored under target.
func TestReplicasNeedEnoughMembers(t *testing.T) {
	nodes := nodetest.Cluster(t, 2, nil)
	c := nodetest.Client(t, nodes[0])
	_, err := c.PutBytes(nodetest.Context(t, time.Minute), []byte("x"), client.PutOptions{Replicas: 3, MinReplicas: 3})
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("only 2 member(s) alive")) {
		t.Fatalf("put with more replicas than members: %v", err)
	}
	res, err := c.PutObject(nodetest.Context(t, time.Minute), bytes.NewReader([]byte("y")), client.PutOptions{Replicas: 3})
	if err != nil || res.Copies != 2 || res.Replicas != 3 {
		t.Fatalf("put with a target above the members: %+v, %v", res, err)
	}
	if _, err := c.PutBytes(nodetest.Context(t, time.Minute), testdata.Bytes(1, 3<<20), client.PutOptions{Replicas: 2}); err != nil {
		t.Fatal(err)
	}
}

// The node that takes a put keeps the first replica: with replicas 2 every
// block is on the entry node and on exactly one other, so a put sends one
// copy out, not about two; every other node still reads the object.
func TestPutKeepsFirstReplicaOnEntryNode(t *testing.T) {
	nodes := nodetest.Cluster(t, 5, func(i int, c *node.Config) {
		c.Replicas = 2
		c.BlockSize = 64 << 10
	})
	ctx := nodetest.Context(t, time.Minute)
	data := testdata.Bytes(7, 40<<16+5) // 41 blocks
	ref, err := nodetest.Client(t, nodes[2]).PutBytes(ctx, data, client.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := nodes[2].Store().Manifest(ref)
	if err != nil {
		t.Fatal(err)
	}
	others := map[int]int{}
	for _, id := range m.Blocks {
		var on []int
		for i, nd := range nodes {
			if has, _ := nd.Store().HasBlocks([]blocks.ID{id}); has[0] {
				on = append(on, i)
			}
		}
		if len(on) != 2 || (on[0] != 2 && on[1] != 2) {
			t.Fatalf("block %s on nodes %v, want the entry node 2 and one other", id.Short(), on)
		}
		for _, i := range on {
			others[i]++
		}
	}
	if len(others) < 3 {
		t.Fatalf("second replicas on %v: placement should spread them over the other members", others)
	}
	for i, nd := range nodes {
		got, err := nodetest.Client(t, nd).GetBytes(ctx, ref)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("get through node %d: %d bytes, %v", i, len(got), err)
		}
	}
}
