package node_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/blocks/store"
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
