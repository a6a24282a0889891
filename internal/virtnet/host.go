package virtnet

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emerge-dev/emerge/pubsub"
	"github.com/emerge-dev/emerge/rpc"
)

// Host is one node's attachment to the network: its rpc endpoint (served
// by the handler given to Attach), an rpc.Caller to reach the others, and
// its bus.
type Host struct {
	net     *Net
	name    string
	handler rpc.Handler
	bus     *pubsub.MemBus
	nextID  atomic.Uint64

	ctx    context.Context // the server's: canceled by Close
	cancel context.CancelFunc
	gone   chan struct{} // closed by Close: calls in flight to the host fail

	mu       sync.Mutex
	closed   bool
	handlers sync.WaitGroup
	served   atomic.Uint64
}

var _ rpc.Caller = (*Host)(nil)

func newHost(n *Net, name string, h rpc.Handler, bus *pubsub.MemBus) *Host {
	host := &Host{net: n, name: name, handler: h, bus: bus, gone: make(chan struct{})}
	host.ctx, host.cancel = context.WithCancel(context.Background())
	return host
}

// Name is the host's name.
func (h *Host) Name() string { return h.name }

// Endpoint is the host's rpc endpoint.
func (h *Host) Endpoint() string { return Endpoint(h.name) }

// Bus is the host's bus; Close closes it.
func (h *Host) Bus() pubsub.Bus { return h.bus }

// Served counts the requests the host answered.
func (h *Host) Served() uint64 { return h.served.Load() }

// Close takes the host off the network as a crash would: calls in flight to
// it fail as unreachable (its connections dropped), later ones cannot
// connect, its own calls fail as closed. It waits for its handlers, which
// see their context canceled. Safe to call twice.
func (h *Host) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	close(h.gone)
	h.mu.Unlock()
	h.cancel()
	h.handlers.Wait()
	h.bus.Close()
}

func (h *Host) isClosed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}

// Call implements rpc.Caller: the request is encoded, travels the link,
// is served by the other host's handler, and the reply travels back and is
// decoded, as over a socket.
func (h *Host) Call(ctx context.Context, endpoint string, op rpc.Op, req rpc.Body, data [][]byte) (*rpc.Message, error) {
	if h.isClosed() {
		return nil, fmt.Errorf("%s: %w", endpoint, rpc.ErrClosed)
	}
	to := h.net.lookup(endpoint)
	if to == nil || to.isClosed() {
		return nil, fmt.Errorf("%w: cannot connect to %s", rpc.ErrUnreachable, endpoint)
	}
	head, err := rpc.EncodeRequest(op, h.nextID.Add(1), req)
	if err != nil {
		return nil, err
	}
	frames := append([][]byte{head}, copyFrames(data)...) // a socket copies what it sends
	if err := h.net.travel(ctx, h.name, to.name, size(frames)); err != nil {
		return nil, noReply(endpoint, op, err)
	}
	reply, err := to.serve(ctx, frames)
	if err != nil {
		return nil, h.callErr(endpoint, op, err)
	}
	if err := h.net.travel(ctx, to.name, h.name, size(reply)); err != nil {
		return nil, noReply(endpoint, op, err)
	}
	return rpc.DecodeReply(reply, h.net.cfg.Limits)
}

var errLost = fmt.Errorf("%w: connection lost", rpc.ErrUnreachable)

func (h *Host) callErr(endpoint string, op rpc.Op, err error) error {
	if err == errLost {
		return fmt.Errorf("%w: connection to %s lost", rpc.ErrUnreachable, endpoint)
	}
	return noReply(endpoint, op, err)
}

func noReply(endpoint string, op rpc.Op, err error) error {
	return fmt.Errorf("%s: no reply to %s: %w", endpoint, op, err)
}

// serve runs the handler on its own goroutine, as a server does, and waits
// for the reply, the caller's ctx, or the host's death.
func (h *Host) serve(ctx context.Context, frames [][]byte) ([][]byte, error) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, errLost
	}
	h.handlers.Add(1)
	h.mu.Unlock()
	out := make(chan [][]byte, 1)
	go func() {
		defer h.handlers.Done()
		rep, done := rpc.ServeFrames(h.ctx, h.handler, frames, h.net.cfg.Limits, h.net.cfg.Logger)
		cp := copyFrames(rep)
		if done != nil {
			done()
		}
		h.served.Add(1)
		out <- cp
	}()
	select {
	case rep := <-out:
		return rep, nil
	case <-h.gone:
		return nil, errLost
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// travel waits until a message of size bytes from a has reached b: held
// while either end is frozen, never across a partition (until ctx ends),
// then the link's queue, bandwidth and latency.
func (n *Net) travel(ctx context.Context, a, b string, size int64) error {
	for {
		parted, thaw := n.cut(a, b)
		if parted {
			<-ctx.Done()
			return ctx.Err()
		}
		if thaw == nil {
			break
		}
		select {
		case <-thaw:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	d := time.Until(n.arrival(a, b, size))
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func copyFrames(fs [][]byte) [][]byte {
	out := make([][]byte, len(fs))
	for i, f := range fs {
		out[i] = append([]byte(nil), f...)
	}
	return out
}

func size(fs [][]byte) int64 {
	var n int64
	for _, f := range fs {
		n += int64(len(f))
	}
	return n
}
