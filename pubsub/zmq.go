package pubsub

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

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
	// what the subscription guard did (guard.go)
	foreignSubs, subsCut atomic.Uint64
}

var _ Bus = (*ZMQBus)(nil)

type command struct {
	op       cmdOp
	endpoint string
	reply    chan error
}

type cmdOp uint8

const (
	cmdConnect cmdOp = iota
	cmdDisconnect
	cmdCutSubscribers
)

// ZAPDomain is the ZAP domain of the bus's XPUB (and of the rpc ROUTER):
// with a ZAP handler in the context (CURVE), it is asked about every
// subscriber.
const ZAPDomain = "emerge"

// NewZMQ binds the PUB socket, makes the SUB socket and starts the owner.
func NewZMQ(cfg Config) (*ZMQBus, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	b := &ZMQBus{
		cfg:  cfg,
		log:  cfg.Logger.With().Str("component", "pubsub").Str("node", cfg.NodeID).Logger(),
		out:  make(chan []byte, cfg.Queue),
		cmds: make(chan command, 16),
		msgs: make(chan Message, cfg.Buffer),
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	o, endpoint, err := newOwner(&cfg, b)
	if err != nil {
		return nil, err
	}
	b.endpoint, b.wake = endpoint, o.wake
	b.log = b.log.With().Str("pub", endpoint).Logger()
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
func (b *ZMQBus) Connect(endpoint string) error { return b.command(cmdConnect, endpoint) }

// Disconnect implements Bus.
func (b *ZMQBus) Disconnect(endpoint string) error { return b.command(cmdDisconnect, endpoint) }

// CutSubscribers drops every connection to the PUB side; subscribers
// reconnect by themselves and pass the handshake again. A node calls it when
// the keys it lets in change, so a revoked subscriber is refused at once.
func (b *ZMQBus) CutSubscribers() error { return b.command(cmdCutSubscribers, "") }

// GuardStats counts what the subscription guard saw and did.
type GuardStats struct {
	ForeignSubs uint64 // subscriptions to topics the bus does not use
	Cut         uint64 // subscriber connections shut down
}

// GuardStats returns the subscription guard's counters.
func (b *ZMQBus) GuardStats() GuardStats {
	return GuardStats{ForeignSubs: b.foreignSubs.Load(), Cut: b.subsCut.Load()}
}

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
func (b *ZMQBus) command(op cmdOp, endpoint string) error {
	if b.closed() {
		return ErrClosed
	}
	c := command{op: op, endpoint: endpoint, reply: make(chan error, 1)}
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
