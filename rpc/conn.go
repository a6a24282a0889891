package rpc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/emerge-dev/emerge/internal/curve"
	zmq "github.com/pebbe/zmq4"
	"github.com/rs/zerolog"
)

// ConnConfig configures a Conn. Zero values mean defaults.
type ConnConfig struct {
	Context  *zmq.Context   // required
	Endpoint string         // required, e.g. tcp://127.0.0.1:7700
	SendHWM  int            // default 1024
	RecvHWM  int            // default 1024
	Limits   Limits         // caps on what the node sends back
	Logger   zerolog.Logger // default: silent
	// Curve, when set, makes the DEALER a CURVE client of the node. A node
	// that refuses the handshake (wrong secret, key not allowed, or a
	// plaintext client at a CURVE node and the reverse) fails every call in
	// flight with ErrDenied. Nil: plaintext.
	Curve *curve.Client
}

// Conn is a DEALER connection to one node carrying many requests in flight,
// matched by request id. Call is safe for concurrent use; one goroutine owns
// the socket. ZeroMQ connects lazily and reconnects by itself; when an
// established connection drops, every call in flight fails at once with
// ErrUnreachable (its reply can no longer arrive) instead of waiting for its
// deadline.
type Conn struct {
	cfg  ConnConfig
	log  zerolog.Logger
	sock *zmq.Socket
	mon  *zmq.Socket

	// Where the owner waits (sleep.go), and the monitor's watcher (wake.go),
	// which sets monEvents and wakes it.
	sleep     *sleeper
	monW      *watcher
	monEvents atomic.Bool

	sendq chan *call
	quit  chan struct{}
	done  chan struct{}
	once  sync.Once

	mu      sync.Mutex
	pending map[uint64]*call
	closed  bool
	nextID  atomic.Uint64
	up      atomic.Bool
	refused error // the last handshake was refused; owned by the loop
}

type call struct {
	id     uint64
	op     Op
	head   []byte
	data   [][]byte
	result chan result
}

type result struct {
	msg *Message
	err error
}

// Dial creates the connection. It does not wait for the node: the first
// Call does (bounded by its context).
func Dial(cfg ConnConfig) (*Conn, error) {
	if cfg.Context == nil || cfg.Endpoint == "" {
		return nil, errors.New("rpc dial: Context and Endpoint are required")
	}
	if cfg.SendHWM <= 0 {
		cfg.SendHWM = 1024
	}
	if cfg.RecvHWM <= 0 {
		cfg.RecvHWM = 1024
	}
	cfg.Limits.fill()
	c := &Conn{cfg: cfg, log: cfg.Logger, sendq: make(chan *call, 256), quit: make(chan struct{}),
		done: make(chan struct{}), pending: make(map[uint64]*call)}
	if err := c.open(); err != nil {
		return nil, fmt.Errorf("rpc dial %s: %w", cfg.Endpoint, err)
	}
	go c.loop()
	return c, nil
}

func (c *Conn) open() error {
	var err error
	if c.sock, err = newSocket(c.cfg.Context, zmq.DEALER); err != nil {
		return err
	}
	monAddr := fmt.Sprintf("inproc://emerge-mon-%p", c)
	err = errors.Join(c.sock.SetSndhwm(c.cfg.SendHWM), c.sock.SetRcvhwm(c.cfg.RecvHWM),
		c.sock.SetMaxmsgsize(int64(2*c.cfg.Limits.MaxFrame)),
		c.sock.Monitor(monAddr, zmq.EVENT_CONNECTED|zmq.EVENT_DISCONNECTED|zmq.EVENT_CONNECT_RETRIED|handshakeEvents))
	if err == nil && c.cfg.Curve != nil {
		err = c.cfg.Curve.Apply(c.sock)
	}
	if err == nil {
		c.mon, err = newSocket(c.cfg.Context, zmq.PAIR)
	}
	if err == nil {
		err = c.mon.Connect(monAddr)
	}
	if err == nil {
		err = c.sock.Connect(c.cfg.Endpoint)
	}
	if err == nil {
		c.sleep, err = newSleeper(c.sock)
	}
	if err == nil {
		c.monW, err = newWatcher(c.mon, func() { c.monEvents.Store(true); c.sleep.Wake() })
	}
	if err != nil {
		c.closeSockets()
	}
	return err
}

func (c *Conn) closeSockets() {
	if c.monW != nil {
		c.monW.close()
	}
	if c.sleep != nil {
		c.sleep.close()
	}
	if c.sock != nil {
		c.sock.Monitor("", 0)
		c.sock.Close()
	}
	if c.mon != nil {
		c.mon.Close()
	}
}

// Endpoint is the node this connection talks to.
func (c *Conn) Endpoint() string { return c.cfg.Endpoint }

// Connected reports whether a TCP connection to the node is established now.
func (c *Conn) Connected() bool { return c.up.Load() }

// Call sends one request and waits for its reply, bounded by ctx. A non-ok
// reply is returned as a *StatusError (which matches the sentinels with
// errors.Is). The reply's data frames belong to the caller.
func (c *Conn) Call(ctx context.Context, op Op, req Body, data [][]byte) (*Message, error) {
	cl := &call{id: c.nextID.Add(1), op: op, data: data, result: make(chan result, 1)}
	head, err := encodeHeader(req, op, cl.id)
	if err != nil {
		return nil, fmt.Errorf("%w: encode %s: %v", ErrBadRequest, op, err)
	}
	cl.head = head
	if err := c.register(cl); err != nil {
		return nil, err
	}
	select {
	case c.sendq <- cl:
		c.sleep.Wake()
	case <-ctx.Done():
		c.forget(cl.id)
		return nil, c.ctxErr(ctx, op)
	}
	select {
	case r := <-cl.result:
		return r.msg, r.err
	case <-ctx.Done():
		c.forget(cl.id)
		return nil, c.ctxErr(ctx, op)
	}
}

func (c *Conn) ctxErr(ctx context.Context, op Op) error {
	return fmt.Errorf("%s: no reply to %s: %w", c.cfg.Endpoint, op, ctx.Err())
}

func (c *Conn) register(cl *call) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return fmt.Errorf("%s: %w", c.cfg.Endpoint, ErrClosed)
	}
	c.pending[cl.id] = cl
	return nil
}

func (c *Conn) forget(id uint64) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

func (c *Conn) take(id uint64) *call {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl := c.pending[id]
	delete(c.pending, id)
	return cl
}

func (c *Conn) isPending(id uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.pending[id]
	return ok
}

// failAll resolves every call in flight with err.
func (c *Conn) failAll(err error) {
	c.mu.Lock()
	calls := c.pending
	c.pending = make(map[uint64]*call)
	c.mu.Unlock()
	for _, cl := range calls {
		cl.result <- result{err: err}
	}
}

// Close fails calls in flight with ErrClosed and stops the socket owner.
// Safe to call twice.
func (c *Conn) Close() error {
	c.once.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		close(c.quit)
		c.sleep.Wake()
		<-c.done
		c.failAll(fmt.Errorf("%s: %w", c.cfg.Endpoint, ErrClosed))
	})
	return nil
}
