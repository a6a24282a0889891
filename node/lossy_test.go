package node_test

import (
	"sync"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/internal/testdata"
	"github.com/emerge-dev/emerge/node"
	"github.com/emerge-dev/emerge/pubsub"
	"github.com/emerge-dev/emerge/registry"
)

// With 30% of bus messages dropped, membership still converges and who-has
// lookups still find owners (they rebroadcast, and heartbeat digests make
// members pull the table over rpc).
func TestLossyBusConverges(t *testing.T) {
	hub, err := pubsub.NewHub(pubsub.HubOptions{Loss: 0.3, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var buses []*pubsub.MemBus
	bus := func(i int, c *node.Config) {
		c.Replicas = 1
		c.BlockSize = 64 << 10
		c.Bus = func(id string) (pubsub.Bus, error) {
			b, err := hub.NewBus(id)
			mu.Lock()
			buses = append(buses, b)
			mu.Unlock()
			return b, err
		}
	}
	nodes := nodetest.Cluster(t, 4, bus)
	ctx := nodetest.Context(t, 2*time.Minute)
	data := testdata.Bytes(9, 4<<20) // 64 blocks, one replica each
	ref, err := nodetest.Client(t, nodes[0]).PutBytes(ctx, data, client.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A newcomer ranks first for some blocks, so its placement guess for
	// them is itself: it can only learn their owners through who-has.
	cfg := nodetest.Config(t)
	nodetest.Fast(&cfg)
	bus(4, &cfg)
	cfg.Peers = []string{nodes[1].Endpoint()}
	late := nodetest.StartConfig(t, cfg)
	nodetest.WaitConverged(t, append(nodes, late), 5)
	got, err := nodetest.Client(t, late).GetBytes(ctx, ref)
	if err != nil || string(got) != string(data) {
		t.Fatalf("get over a lossy bus: %v", err)
	}
	m, _, _ := late.Store().Manifest(ref)
	guessedSelf := 0
	for _, id := range m.Blocks {
		if owners := registry.Place(id, late.Live(), 1); owners[0].ID == late.ID() {
			guessedSelf++
		}
	}
	if guessedSelf == 0 {
		t.Fatal("the test did not exercise who-has: no block is placed on the newcomer")
	}
	var dropped uint64
	mu.Lock()
	for _, b := range buses {
		dropped += b.Stats().SendDropped
	}
	mu.Unlock()
	if dropped == 0 {
		t.Fatal("the hub dropped nothing; the test is not lossy")
	}
	t.Logf("%d of %d blocks found only by who-has; %d bus messages dropped", guessedSelf, len(m.Blocks), dropped)
}
