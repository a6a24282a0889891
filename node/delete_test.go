package node_test

import (
	"errors"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/internal/testdata"
	"github.com/emerge-dev/emerge/node"
)

// A delete through one node reaches every node within a bounded time: none
// serves the object any more, each frees the blocks no other object uses,
// and a node that was down during the delete applies it when it comes back.
func TestDeleteReachesEveryNode(t *testing.T) {
	const bs = 256 << 10
	var cfgs []node.Config
	nodes := nodetest.Cluster(t, 4, func(i int, c *node.Config) {
		c.BlockSize = bs
		cfgs = append(cfgs, *c)
	})
	ctx := nodetest.Context(t, 2*time.Minute)
	shared := testdata.Bytes(1, 2*bs)
	a := append(append([]byte{}, shared...), testdata.Bytes(2, 3*bs)...)
	b := append(append([]byte{}, shared...), testdata.Bytes(3, bs)...)
	c0 := nodetest.Client(t, nodes[0])
	refA, _ := c0.PutBytes(ctx, a, client.PutOptions{})
	refB, _ := c0.PutBytes(ctx, b, client.PutOptions{})
	for _, n := range nodes { // every node ends with a full copy of both
		c := nodetest.Client(t, n)
		for _, r := range []blocks.Ref{refA, refB} {
			if _, err := c.GetBytes(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
	}
	uniqueA := blocks.Sum(a[2*bs : 3*bs])
	nodes[3].Kill() // away during the delete

	if _, err := c0.Delete(ctx, refA); err != nil {
		t.Fatal(err)
	}
	live := nodes[:3]
	nodetest.WaitFor(t, 10*time.Second, "every live node to drop the object", func() bool {
		for _, n := range live {
			if _, _, err := n.Store().Manifest(refA); !errors.Is(err, blocks.ErrDeleted) {
				return false
			}
			if has, _ := n.Store().HasBlocks([]blocks.ID{uniqueA}); has[0] {
				return false
			}
		}
		return true
	})
	for _, n := range live {
		c := nodetest.Client(t, n)
		if _, err := c.GetBytes(ctx, refA); !errors.Is(err, client.ErrDeleted) {
			t.Fatalf("%s still serves a deleted object: %v", n.ID(), err)
		}
		if got, err := c.GetBytes(ctx, refB); err != nil || string(got) != string(b) {
			t.Fatalf("%s lost an object sharing blocks with the deleted one: %v", n.ID(), err)
		}
		if st, _ := n.Store().Stats(); st.BlockBytes > int64(len(b)) {
			t.Fatalf("%s keeps %d block bytes; only the surviving object's %d should remain", n.ID(), st.BlockBytes, len(b))
		}
	}

	back := nodetest.StartConfig(t, cfgs[3])
	nodetest.WaitFor(t, 20*time.Second, "the returning node to apply the delete it missed", func() bool {
		_, _, err := back.Store().Manifest(refA)
		return errors.Is(err, blocks.ErrDeleted)
	})
	if _, err := nodetest.Client(t, back).GetBytes(ctx, refA); !errors.Is(err, client.ErrDeleted) {
		t.Fatalf("returning node serves the deleted object: %v", err)
	}
}
