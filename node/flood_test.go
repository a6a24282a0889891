package node_test

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/internal/testdata"
)

// One client keeps 600 gets of random refs in flight (each waits out a
// who-has); another client is still served: its ping at dial, info, a put
// and a get. Before the per-connection cap the flood held all 512 slots and
// everyone else was answered "node busy".
func TestGetFloodLeavesRoomForOthers(t *testing.T) {
	nodes := nodetest.Cluster(t, 2, nil)
	n := nodes[0]
	flooder := nodetest.Client(t, n)
	ctx, cancel := context.WithCancel(nodetest.Context(t, 2*time.Minute))
	defer cancel()
	var refused, finished atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 600; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ref blocks.Ref
			rand.Read(ref[:])
			_, err := flooder.GetBytes(ctx, ref)
			if errors.Is(err, client.ErrUnavailable) {
				refused.Add(1)
			}
			finished.Add(1)
		}()
	}
	defer wg.Wait()
	nodetest.WaitFor(t, 30*time.Second, "the flood to fill its share of the node", func() bool {
		return refused.Load() >= 600-64-256
	})
	other := nodetest.Client(t, n) // dialing pings
	st, err := other.Status(ctx)
	if err != nil {
		t.Fatalf("info during the flood: %v", err)
	}
	ref, err := other.PutBytes(ctx, testdata.Bytes(5, 3<<20), client.PutOptions{})
	if err != nil {
		t.Fatalf("put during the flood: %v", err)
	}
	if _, err := other.GetBytes(ctx, ref); err != nil {
		t.Fatalf("get during the flood: %v", err)
	}
	if done := finished.Load(); done >= 600 {
		t.Fatalf("the flood was over (%d finished) before the other client was served; nothing was shown", done)
	}
	t.Logf("node %s served another client while %d of 600 flood gets were refused and %d had finished",
		st.ID, refused.Load(), finished.Load())
	cancel()
}
