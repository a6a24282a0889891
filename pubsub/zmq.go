package pubsub

import (
	"context"
	"fmt"
	"sync"

	"github.com/rs/zerolog"
)

// ZMQBus is the ZeroMQ Bus: a bound PUB socket and a SUB socket connected to
// members' PUB sockets, both owned by one goroutine (see zmq_loop.go).
type ZMQBus struct {
	cfg      Config
	log      zerolog.Logger
	endpoint string

	out  chan []byte  // encoded frames for the owner to publish
	cmds chan command // connect and disconnect, answered by the owner
	msgs chan Message // delivered messages; closed by the owner as it exits
	wake *waker

	stop     chan struct{} // closed by Close
	done     chan struct{} // closed by the owner as it exits
	once     sync.Once
	wg       sync.WaitGroup
	closeErr error // set by the owner before done is closed

	stats counters
}

var _ Bus = (*ZMQBus)(nil)

type command struct {
	connect  bool // false: disconnect
	endpoint string
	reply    chan error
}

// NewZMQ binds the PUB socket, makes the SUB socket and starts the owner.
func NewZMQ(cfg Config) (*ZMQBus, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	o, endpoint, err := newOwner(&cfg)
	if err != nil {
		return nil, err
	}
	b := &ZMQBus{
		cfg: cfg, endpoint: endpoint,
		log:  cfg.Logger.With().Str("component", "pubsub").Str("node", cfg.NodeID).Str("pub", endpoint).Logger(),
		out:  make(chan []byte, cfg.Queue),
		cmds: make(chan command, 16),
		msgs: make(chan Message, cfg.Buffer),
		wake: o.wake,
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	o.bus = b
	b.wg.Add(1)
	go o.run()
	return b, nil
}

// Publish implements Bus.
func (b *ZMQBus) Publish(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if b.closed() {
		return ErrClosed
	}
	if m.From == "" {
		m.From = b.cfg.NodeID
	}
	frame, err := Encode(m)
	if err != nil {
		return err
	}
	select {
	case b.out <- frame:
		b.wake.wake()
	default:
		b.stats.sendDropped.Add(1)
	}
	return nil
}

// Messages implements Bus.
func (b *ZMQBus) Messages() <-chan Message { return b.msgs }

// Connect implements Bus.
func (b *ZMQBus) Connect(endpoint string) error { return b.command(true, endpoint) }

// Disconnect implements Bus.
func (b *ZMQBus) Disconnect(endpoint string) error { return b.command(false, endpoint) }

// Endpoint implements Bus.
func (b *ZMQBus) Endpoint() string { return b.endpoint }

// Stats implements Bus.
func (b *ZMQBus) Stats() Stats { return b.stats.stats() }

// Close implements Bus: it stops the owner, which closes the sockets and the
// Messages channel, and waits for it and the waker.
func (b *ZMQBus) Close() error {
	b.once.Do(func() {
		close(b.stop)
		b.wake.wake()
		b.wg.Wait()
	})
	return b.closeErr
}

// command hands a connect or disconnect to the owner and waits for it.
func (b *ZMQBus) command(connect bool, endpoint string) error {
	if b.closed() {
		return ErrClosed
	}
	c := command{connect: connect, endpoint: endpoint, reply: make(chan error, 1)}
	select {
	case b.cmds <- c:
		b.wake.wake()
	case <-b.done:
		return ErrClosed
	}
	select {
	case err := <-c.reply:
		return err
	case <-b.done:
		return ErrClosed
	}
}

func (b *ZMQBus) closed() bool {
	select {
	case <-b.stop:
		return true
	case <-b.done:
		return true
	default:
		return false
	}
}

func wrapEndpoint(op, endpoint string, err error) error {
	return fmt.Errorf("%w: %s %q: %w", ErrBadEndpoint, op, endpoint, err)
}
