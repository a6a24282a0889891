package pubsub

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// MemScheme prefixes the endpoints of a Hub's buses: "mem://" + name.
const MemScheme = "mem://"

// HubOptions configures a Hub. A zero field means its default.
type HubOptions struct {
	// Loss is the share of deliveries dropped, in [0, 1): each (message,
	// subscriber) pair is dropped independently. Default 0.
	Loss float64
	// Seed seeds the loss draws: the same seed and the same sequence of
	// publishes drop the same deliveries.
	Seed uint64
	// Delay is added to every delivery; order per subscriber is kept.
	Delay time.Duration
	// Link, when set, is asked about every delivery from the bus named
	// from to the bus named to: drop it, or add delay (a virtual network's
	// partitions, frozen nodes and link latencies). It must not call back
	// into the hub.
	Link func(from, to string) (drop bool, delay time.Duration)
	// Buffer is the capacity of each bus's Messages channel. Default
	// DefaultBuffer.
	Buffer int
	// Queue is each bus's inbound queue, the Hub's high-water mark: a
	// delivery to a full queue is dropped. Default DefaultQueue.
	Queue int
	// Logger receives debug lines about malformed frames. The zero value
	// logs nothing.
	Logger zerolog.Logger
}

// Hub is an in-memory network of buses for tests: many nodes in one process,
// fast, with optional seeded loss and delay. Every message still goes through
// Encode and Decode. A Hub has no goroutines of its own; each MemBus has one.
type Hub struct {
	opts HubOptions

	mu    sync.Mutex
	rng   *rand.Rand
	buses map[string]*MemBus   // live buses by endpoint
	subs  map[string][]*MemBus // publisher endpoint → subscribers, in connect order
}

// NewHub validates opts and returns an empty hub.
func NewHub(opts HubOptions) (*Hub, error) {
	switch {
	case opts.Loss < 0 || opts.Loss >= 1:
		return nil, fmt.Errorf("%w: Loss %v outside [0, 1)", ErrBadConfig, opts.Loss)
	case opts.Delay < 0 || opts.Buffer < 0 || opts.Queue < 0:
		return nil, fmt.Errorf("%w: negative Delay, Buffer or Queue", ErrBadConfig)
	}
	opts.Buffer = orDefault(opts.Buffer, DefaultBuffer)
	opts.Queue = orDefault(opts.Queue, DefaultQueue)
	return &Hub{
		opts:  opts,
		rng:   rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		buses: make(map[string]*MemBus),
		subs:  make(map[string][]*MemBus),
	}, nil
}

// NewBus starts the bus of node name, at endpoint MemEndpoint(name). The
// name must be 1..MaxString bytes and not in use by a live bus; a closed
// bus's name may be reused (a restart), and buses that were connected to it
// hear the new one.
func (h *Hub) NewBus(name string) (*MemBus, error) {
	if name == "" || len(name) > MaxString {
		return nil, fmt.Errorf("%w: bus name must be 1..%d bytes", ErrBadConfig, MaxString)
	}
	b := newMemBus(h, name)
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, dup := h.buses[b.endpoint]; dup {
		return nil, fmt.Errorf("%w: bus %q already exists", ErrBadConfig, name)
	}
	h.buses[b.endpoint] = b
	b.start()
	return b, nil
}

// MemEndpoint is the endpoint of the Hub bus named name.
func MemEndpoint(name string) string { return MemScheme + name }

func checkMemEndpoint(ep string) error {
	name, ok := strings.CutPrefix(ep, MemScheme)
	if !ok || name == "" {
		return fmt.Errorf("%w: %q: want %sname", ErrBadEndpoint, ep, MemScheme)
	}
	return nil
}

// broadcast queues frame for every subscriber of from, drawing loss.
func (h *Hub) broadcast(from *MemBus, frame []byte) {
	d := delivery{from: from.endpoint, frame: frame}
	if h.opts.Delay > 0 {
		d.due = time.Now().Add(h.opts.Delay)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range h.subs[from.endpoint] {
		if h.opts.Loss > 0 && h.rng.Float64() < h.opts.Loss {
			from.stats.sendDropped.Add(1)
			continue
		}
		d := d
		if h.opts.Link != nil {
			drop, extra := h.opts.Link(from.name, s.name)
			if drop {
				from.stats.sendDropped.Add(1)
				continue
			}
			if extra > 0 {
				d.due = time.Now().Add(h.opts.Delay + extra)
			}
		}
		select {
		case s.in <- d:
		default:
			from.stats.sendDropped.Add(1)
		}
	}
}

func (h *Hub) connect(b *MemBus, ep string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ep == b.endpoint || b.peers[ep] {
		return
	}
	b.peers[ep] = true
	h.subs[ep] = append(h.subs[ep], b)
}

func (h *Hub) disconnect(b *MemBus, ep string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.unsubscribe(b, ep)
}

// unsubscribe removes b from ep's subscribers. Caller holds h.mu.
func (h *Hub) unsubscribe(b *MemBus, ep string) {
	if !b.peers[ep] {
		return
	}
	delete(b.peers, ep)
	h.subs[ep] = slices.DeleteFunc(h.subs[ep], func(s *MemBus) bool { return s == b })
	if len(h.subs[ep]) == 0 {
		delete(h.subs, ep)
	}
}

// subscribed reports whether b still listens to ep.
func (h *Hub) subscribed(b *MemBus, ep string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return b.peers[ep]
}

// remove takes a closing bus off the hub: no more deliveries reach it.
func (h *Hub) remove(b *MemBus) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ep := range b.peers {
		h.unsubscribe(b, ep)
	}
	if h.buses[b.endpoint] == b {
		delete(h.buses, b.endpoint)
	}
}
