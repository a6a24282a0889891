package pubsub

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// MemBus is a Hub's Bus. Its goroutine takes frames off the inbound queue,
// waits out the hub's delay, decodes and delivers them.
type MemBus struct {
	hub      *Hub
	name     string
	endpoint string
	log      zerolog.Logger

	in    chan delivery
	msgs  chan Message
	peers map[string]bool // endpoints this bus listens to; guarded by hub.mu

	stop  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup
	stats counters
}

var _ Bus = (*MemBus)(nil)

// delivery is one frame on its way to one subscriber.
type delivery struct {
	from  string // publisher endpoint
	frame []byte
	due   time.Time // zero: now
}

func newMemBus(h *Hub, name string) *MemBus {
	ep := MemEndpoint(name)
	return &MemBus{
		hub: h, name: name, endpoint: ep,
		log:   h.opts.Logger.With().Str("component", "pubsub").Str("node", name).Logger(),
		in:    make(chan delivery, h.opts.Queue),
		msgs:  make(chan Message, h.opts.Buffer),
		peers: make(map[string]bool),
		stop:  make(chan struct{}),
	}
}

func (b *MemBus) start() {
	b.wg.Add(1)
	go b.run()
}

// Publish implements Bus. It draws loss and queues the frame for every
// subscriber before it returns.
func (b *MemBus) Publish(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if b.closed() {
		return ErrClosed
	}
	if m.From == "" {
		m.From = b.name
	}
	frame, err := Encode(m)
	if err != nil {
		return err
	}
	b.stats.published.Add(1)
	b.hub.broadcast(b, frame)
	return nil
}

// Messages implements Bus.
func (b *MemBus) Messages() <-chan Message { return b.msgs }

// Connect implements Bus; endpoint is "mem://name", and need not exist yet.
func (b *MemBus) Connect(endpoint string) error {
	if err := b.check(endpoint); err != nil {
		return err
	}
	b.hub.connect(b, endpoint)
	return nil
}

// Disconnect implements Bus.
func (b *MemBus) Disconnect(endpoint string) error {
	if err := b.check(endpoint); err != nil {
		return err
	}
	b.hub.disconnect(b, endpoint)
	return nil
}

// Endpoint implements Bus.
func (b *MemBus) Endpoint() string { return b.endpoint }

// Name is the node name the bus was made with.
func (b *MemBus) Name() string { return b.name }

// Stats implements Bus.
func (b *MemBus) Stats() Stats { return b.stats.stats() }

// Close implements Bus.
func (b *MemBus) Close() error {
	b.once.Do(func() {
		b.hub.remove(b)
		close(b.stop)
		b.wg.Wait()
		close(b.msgs)
	})
	return nil
}

func (b *MemBus) check(endpoint string) error {
	if b.closed() {
		return ErrClosed
	}
	return checkMemEndpoint(endpoint)
}

func (b *MemBus) closed() bool {
	select {
	case <-b.stop:
		return true
	default:
		return false
	}
}

func (b *MemBus) run() {
	defer b.wg.Done()
	for {
		select {
		case d := <-b.in:
			if !b.wait(d.due) {
				return
			}
			b.receive(d)
		case <-b.stop:
			return
		}
	}
}

// wait sleeps until due; false when the bus closes first.
func (b *MemBus) wait(due time.Time) bool {
	dt := time.Until(due)
	if due.IsZero() || dt <= 0 {
		return true
	}
	t := time.NewTimer(dt)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-b.stop:
		return false
	}
}

func (b *MemBus) receive(d delivery) {
	if !b.hub.subscribed(b, d.from) {
		return // disconnected while the frame was queued, as ZeroMQ drops a closed pipe
	}
	m, err := Decode(d.frame)
	if err != nil {
		b.stats.malformed.Add(1)
		b.log.Debug().Err(err).Str("peer", d.from).Msg("dropped malformed frame")
		return
	}
	if m.From == b.name {
		return
	}
	deliver(b.msgs, m, &b.stats)
}
