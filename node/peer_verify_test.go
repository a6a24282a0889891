package node_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/blocks/store"
	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/internal/testdata"
	"github.com/emerge-dev/emerge/node"
)

// An owner serves peers without re-hashing (the receiver hashes): a copy
// damaged on the owner is refused by the fetching node, never reaches the
// client, and the owner, told by the receiver, quarantines it.
func TestPeerFindsAnOwnersBadCopy(t *testing.T) {
	// No scrub: the receiver's report alone must get the copy quarantined.
	nodes := nodetest.Cluster(t, 2, func(_ int, c *node.Config) { c.ScrubInterval = -1 })
	owner, getter := nodes[0], nodes[1]
	const bs = 64 << 10
	data := testdata.Bytes(7, 3*bs)
	m := &blocks.Manifest{Size: int64(len(data)), BlockSize: bs, Replicas: 1, Created: time.Now()}
	for i := 0; i < 3; i++ {
		b := data[i*bs : (i+1)*bs]
		id := blocks.Sum(b)
		m.Blocks = append(m.Blocks, id)
		if i == 1 { // stored under its id, one byte flipped, as a bad disk would
			b = append([]byte(nil), b...)
			b[100] ^= 0xff
		}
		if err := owner.Store().PutBlock(id, b); err != nil {
			t.Fatal(err)
		}
	}
	ref, err := m.Ref()
	if err != nil {
		t.Fatal(err)
	}
	if err := owner.Store().Commit(ref, m, store.UseOwner); err != nil {
		t.Fatal(err)
	}
	got, err := nodetest.Client(t, getter).GetBytes(nodetest.Context(t, time.Minute), ref)
	if err == nil || bytes.Equal(got, data) {
		t.Fatalf("get of an object whose only copy of a block is bad: %d bytes, %v", len(got), err)
	}
	nodetest.WaitFor(t, time.Minute, "the owner to quarantine its bad copy", func() bool {
		return owner.Store().QuarantinedCount() == 1
	})
	if has, _ := owner.Store().HasBlocks(m.Blocks); !has[0] || has[1] || !has[2] {
		t.Fatalf("owner holds %v, want the good copies only", has)
	}
}

// Readers of one object through a node that fetches it share the fetch:
// the verified bytes go to whichever reader takes them first, and every
// other reader gets the same bytes from the stored copy.
func TestConcurrentReadersOfOneFetch(t *testing.T) {
	// No shared memory: every reader streams through the fetch.
	nodes := nodetest.Cluster(t, 2, func(_ int, c *node.Config) { c.Replicas = 1; c.BlockSize = 64 << 10; c.ShmOff = true })
	data := testdata.Bytes(9, 200*(64<<10)+5)
	ctx := nodetest.Context(t, 2*time.Minute)
	ref, err := nodetest.Client(t, nodes[0]).PutBytes(ctx, data, client.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Through the member that holds least of it (replicas 1 spreads the blocks).
	getter := nodes[1]
	if a, b := held(t, nodes[0], ref), held(t, nodes[1], ref); b > a {
		getter = nodes[0]
	}
	errs := make(chan error, 4)
	for range 4 {
		c := nodetest.Client(t, getter)
		go func() {
			got, err := c.GetBytes(ctx, ref)
			if err == nil && !bytes.Equal(got, data) {
				err = fmt.Errorf("%d bytes, not the object's", len(got))
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// held counts the blocks of ref n's store holds.
func held(t *testing.T, n *node.Node, ref blocks.Ref) int {
	t.Helper()
	m, _, err := n.Store().Manifest(ref)
	if err != nil {
		return 0
	}
	has, err := n.Store().HasBlocks(m.Blocks)
	if err != nil {
		t.Fatal(err)
	}
	k := 0
	for _, h := range has {
		if h {
			k++
		}
	}
	return k
}
