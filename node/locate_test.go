package node_test

import (
	"slices"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/internal/testdata"
)

// Files().Locate on a member that lacks a block names exactly its holders
// (with time to hear them all) and says when the first answer came; an id
// nobody holds finds nobody.
func TestLocateFindsHolders(t *testing.T) {
	nodes := nodetest.Cluster(t, 4, nil) // replicas 2
	ctx := nodetest.Context(t, 30*time.Second)
	data := testdata.Bytes(1, 4096)
	if _, err := nodetest.Client(t, nodes[0]).PutBytes(ctx, data, client.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	id := blocks.Sum(data)
	var holders []string
	var asker int
	for i, n := range nodes {
		has, err := n.Store().HasBlocks([]blocks.ID{id})
		if err != nil {
			t.Fatal(err)
		}
		if has[0] {
			holders = append(holders, n.ID())
		} else {
			asker = i
		}
	}
	if len(holders) < 2 || len(holders) == len(nodes) {
		t.Fatalf("holders %v: want at least 2 (replicas) and not all", holders)
	}
	slices.Sort(holders)
	nodetest.WaitFor(t, 10*time.Second, "every holder to answer", func() bool {
		found, first := nodes[asker].Files().Locate(ctx, []blocks.ID{id}, time.Second)
		got := slices.Compact(slices.Sorted(slices.Values(found[id])))
		if first <= 0 || first > time.Second {
			t.Fatalf("first answer after %s", first)
		}
		return slices.Equal(got, holders)
	})
	found, first := nodes[asker].Files().Locate(ctx, []blocks.ID{blocks.Sum([]byte("nobody"))}, 100*time.Millisecond)
	if len(found) != 0 || first != 0 {
		t.Fatalf("an id nobody holds: found %v after %s", found, first)
	}
}
