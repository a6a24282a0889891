package node_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/internal/testdata"
	"github.com/emerge-dev/emerge/node"
)

// TestLoneNodeTakesPutsUnderTarget: with the default replicas 2 and
// min_replicas 1, a node alone stores a put and says it is under target;
// asking for two durable copies before returning fails clearly.
func TestLoneNodeTakesPutsUnderTarget(t *testing.T) {
	n := nodetest.Start(t, func(c *node.Config) { c.Replicas, c.MinReplicas = 2, 1 })
	c := nodetest.Client(t, n)
	ctx := nodetest.Context(t, 30*time.Second)
	for _, size := range []int{100, 3 << 20} {
		data := testdata.Bytes(uint64(size), size)
		res, err := c.PutObject(ctx, bytes.NewReader(data), client.PutOptions{})
		if err != nil {
			t.Fatalf("put of %d bytes on a lone node: %v", size, err)
		}
		if res.Copies != 1 || res.Replicas != 2 || !res.UnderTarget() {
			t.Fatalf("put of %d bytes: %d copies of %d, want 1 of 2", size, res.Copies, res.Replicas)
		}
		got, err := c.GetBytes(ctx, res.Ref)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("get after a put under target: %v", err)
		}
	}
	_, err := c.PutObject(ctx, bytes.NewReader([]byte("x")), client.PutOptions{MinReplicas: 2})
	if !errors.Is(err, client.ErrUnavailable) {
		t.Fatalf("put asking 2 copies before returning on a lone node: %v, want unavailable", err)
	}
}
