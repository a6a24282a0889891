package node_test

import (
	"testing"
	"time"

	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/internal/testdata"
)

// Garbage on the node's port — raw TCP junk and malformed ZeroMQ frames —
// while a put runs: the put succeeds, the junk gets bad_request or a
// dropped connection, and the node keeps serving.
func TestGarbageFramesDuringPut(t *testing.T) {
	const size = 64 << 20
	n := nodetest.Start(t, nil)
	c := nodetest.Client(t, n)
	ctx := nodetest.Context(t, 2*time.Minute)

	stop := make(chan struct{})
	counts := make(chan [2]int, 1)
	go func() {
		z, tc := nodetest.Garbage(n.Endpoint(), stop)
		counts <- [2]int{z, tc}
	}()
	ref, err := c.Put(ctx, testdata.New(77, size), client.PutOptions{})
	close(stop)
	got := <-counts
	if err != nil {
		t.Fatalf("put under garbage: %v", err)
	}
	d := testdata.NewDigest()
	if _, err := c.GetTo(ctx, ref, d); err != nil || d.Sum() != testdata.Sum(77, size) {
		t.Fatalf("object put under garbage differs: %v", err)
	}
	if got[0] == 0 || got[1] == 0 {
		t.Fatalf("garbage senders did not run (%d zmq replies, %d tcp connections)", got[0], got[1])
	}
}
