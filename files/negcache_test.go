package files

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/pubsub"
	"github.com/emerge-dev/emerge/registry"
	"github.com/emerge-dev/emerge/rpc"
)

// silentPeers is a network of members that never hold anything: calls are
// answered not found, who-has broadcasts are counted and never answered.
type silentPeers struct {
	asked atomic.Int64 // who-has broadcasts
}

func (p *silentPeers) Self() registry.Member { return registry.Member{ID: "self", RPC: "self"} }
func (p *silentPeers) Live() []registry.Member {
	return []registry.Member{p.Self(), {ID: "peer", RPC: "peer"}}
}
func (p *silentPeers) Alive(id string) bool { return true }
func (p *silentPeers) Members() []registry.Status {
	var out []registry.Status
	for _, m := range p.Live() {
		out = append(out, registry.Status{Member: m, State: registry.StateAlive})
	}
	return out
}
func (p *silentPeers) Call(ctx context.Context, ep string, op rpc.Op, req rpc.Body, data [][]byte) (*rpc.Message, error) {
	return nil, blocks.ErrNotFound
}
func (p *silentPeers) Publish(ctx context.Context, m pubsub.Message) error {
	if m.Type == pubsub.TypeWhoHas {
		p.asked.Add(1)
	}
	return nil
}

// A ref no member has is looked for once; asking again within the locate
// timeout is answered not found without another who-has.
func TestUnknownRefIsLookedForOnce(t *testing.T) {
	net := &silentPeers{}
	s := newService(t, func(c *Config) { c.Net, c.LocateTimeout = net, 50*time.Millisecond })
	ref := blocks.Ref(blocks.Sum([]byte("nobody has this")))
	for i := 0; i < 5; i++ {
		if _, err := s.Manifest(context.Background(), ref); !errors.Is(err, blocks.ErrNotFound) {
			t.Fatalf("lookup %d: %v, want not found", i, err)
		}
	}
	if n := s.queryID.Load(); n != 1 || net.asked.Load() == 0 {
		t.Fatalf("%d who-has searches (%d broadcasts) for five lookups, want 1", n, net.asked.Load())
	}
}

// A lookup canceled by its caller records nothing.
func TestCanceledLookupIsNotRemembered(t *testing.T) {
	net := &silentPeers{}
	s := newService(t, func(c *Config) { c.Net, c.LocateTimeout = net, time.Minute })
	ref := blocks.Ref(blocks.Sum([]byte("canceled")))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.Manifest(ctx, ref)
	if s.missing.Missing(ref) {
		t.Fatal("a canceled lookup was remembered as a miss")
	}
}
