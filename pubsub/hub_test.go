package pubsub

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func newHub(t *testing.T, opts HubOptions) *Hub {
	t.Helper()
	h, err := NewHub(opts)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func hubBuses(t *testing.T, h *Hub, names []string) []*MemBus {
	t.Helper()
	out := make([]*MemBus, len(names))
	for i, name := range names {
		b, err := h.NewBus(name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		out[i] = b
	}
	return out
}

func memFactory(t *testing.T, names []string, buffer int) []Bus {
	h := newHub(t, HubOptions{Buffer: buffer})
	var out []Bus
	for _, b := range hubBuses(t, h, names) {
		out = append(out, b)
	}
	return out
}

func TestHubConformance(t *testing.T) {
	checkNoLeak(t)
	testConformance(t, memFactory)
}

// TestHubLoss: with 30% of deliveries lost, a publisher that repeats still
// reaches every subscriber, and the loss shows in the counters.
func TestHubLoss(t *testing.T) {
	h := newHub(t, HubOptions{Loss: 0.3, Seed: 42})
	buses := hubBuses(t, h, names(8))
	pub, subs := buses[0], buses[1:]
	cols := make([]*collector, len(subs))
	for i, s := range subs {
		cols[i] = collect(s)
		if err := s.Connect(pub.Endpoint()); err != nil {
			t.Fatal(err)
		}
	}
	for k := range 30 {
		m := whoHas("n0", uint64(k))
		got := func(m Message) bool { return m.ReqID == uint64(k) }
		eventually(t, "every subscriber to get whohas", func() bool {
			if err := pub.Publish(t.Context(), m); err != nil {
				t.Fatal(err)
			}
			for _, c := range cols {
				if !c.has(got) {
					return false
				}
			}
			return true
		})
	}
	s := pub.Stats()
	share := float64(s.SendDropped) / float64(s.Published*uint64(len(subs)))
	if share < 0.1 || share > 0.5 { // at least 210 seeded draws: 0.3 ± 0.03
		t.Fatalf("dropped %d of %d deliveries (%.2f), want about 0.3", s.SendDropped, s.Published*uint64(len(subs)), share)
	}
}

// TestHubSeed: the same seed and publishes drop the same deliveries.
func TestHubSeed(t *testing.T) {
	a, b := lossPattern(t, 7), lossPattern(t, 7)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed, different losses")
	}
	if reflect.DeepEqual(a, lossPattern(t, 8)) {
		t.Fatal("different seeds, same losses")
	}
}

// lossPattern publishes 200 messages to 3 subscribers and returns which
// request ids each subscriber got.
func lossPattern(t *testing.T, seed uint64) [][]uint64 {
	h := newHub(t, HubOptions{Loss: 0.3, Seed: seed})
	buses := hubBuses(t, h, names(4))
	for _, s := range buses[1:] {
		if err := s.Connect(buses[0].Endpoint()); err != nil {
			t.Fatal(err)
		}
	}
	const n = 200
	for k := range n {
		if err := buses[0].Publish(t.Context(), whoHas("n0", uint64(k))); err != nil {
			t.Fatal(err)
		}
	}
	want := n*3 - int(buses[0].Stats().SendDropped)
	out := make([][]uint64, 3)
	eventually(t, "every surviving delivery", func() bool {
		got := 0
		for i, s := range buses[1:] {
			for len(s.Messages()) > 0 {
				out[i] = append(out[i], (<-s.Messages()).ReqID)
			}
			got += len(out[i])
		}
		return got == want
	})
	return out
}

func TestHubDelay(t *testing.T) {
	const delay = 30 * time.Millisecond
	h := newHub(t, HubOptions{Delay: delay})
	buses := hubBuses(t, h, names(2))
	if err := buses[1].Connect(buses[0].Endpoint()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := buses[0].Publish(t.Context(), Message{Type: TypeLeave}); err != nil {
		t.Fatal(err)
	}
	recv(t, buses[1])
	if took := time.Since(start); took < delay {
		t.Fatalf("delivered after %v, delay is %v", took, delay)
	}
}

func TestHubNames(t *testing.T) {
	h := newHub(t, HubOptions{})
	a := hubBuses(t, h, []string{"a"})[0]
	if a.Endpoint() != "mem://a" || a.Name() != "a" {
		t.Fatalf("endpoint %q name %q", a.Endpoint(), a.Name())
	}
	if _, err := h.NewBus("a"); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("duplicate name: %v", err)
	}
	if _, err := h.NewBus(""); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("empty name: %v", err)
	}
	a.Close()
	hubBuses(t, h, []string{"a"}) // a closed bus's name is free again
	for _, o := range []HubOptions{{Loss: 1}, {Loss: -0.1}, {Delay: -1}, {Queue: -1}} {
		if _, err := NewHub(o); !errors.Is(err, ErrBadConfig) {
			t.Errorf("NewHub(%+v): %v, want ErrBadConfig", o, err)
		}
	}
}

// TestHubRestart: a bus connected to a name hears whichever bus holds that
// name, including one started after the Connect and one restarted.
func TestHubRestart(t *testing.T) {
	h := newHub(t, HubOptions{})
	a := hubBuses(t, h, []string{"a"})[0]
	if err := a.Connect(MemEndpoint("b")); err != nil {
		t.Fatal(err)
	}
	for gen := range uint64(2) {
		b := hubBuses(t, h, []string{"b"})[0]
		if err := b.Publish(t.Context(), Message{Type: TypeHello, RPC: "r", Pub: "p", Incarnation: gen}); err != nil {
			t.Fatal(err)
		}
		if m := recv(t, a); m.From != "b" || m.Incarnation != gen {
			t.Fatalf("got %+v", m)
		}
		b.Close()
	}
}
