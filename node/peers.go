package node

import (
	"context"
	"sync"

	"github.com/emerge-dev/emerge/internal/curve"
	"github.com/emerge-dev/emerge/rpc"
	zmq "github.com/pebbe/zmq4"
	"github.com/rs/zerolog"
)

// peerPool keeps one rpc connection per peer endpoint, made on first use.
// A connection carries any number of calls in flight.
type peerPool struct {
	zctx  *zmq.Context
	curve *curve.Client // nil: plaintext
	log   zerolog.Logger

	mu     sync.Mutex
	conns  map[string]*rpc.Conn
	closed bool
}

func newPeerPool(zctx *zmq.Context, cc *curve.Client, log zerolog.Logger) *peerPool {
	return &peerPool{zctx: zctx, curve: cc, log: log, conns: make(map[string]*rpc.Conn)}
}

// conn returns the connection to endpoint, dialing it the first time.
func (p *peerPool) conn(endpoint string) (*rpc.Conn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, rpc.ErrClosed
	}
	if c, ok := p.conns[endpoint]; ok {
		return c, nil
	}
	c, err := rpc.Dial(rpc.ConnConfig{Context: p.zctx, Endpoint: endpoint, Logger: p.log, Curve: p.curve})
	if err != nil {
		return nil, err
	}
	p.conns[endpoint] = c
	return c, nil
}

// Call sends one request to the peer at endpoint (rpc.Caller).
func (p *peerPool) Call(ctx context.Context, endpoint string, op rpc.Op, req rpc.Body, data [][]byte) (*rpc.Message, error) {
	c, err := p.conn(endpoint)
	if err != nil {
		return nil, err
	}
	return c.Call(ctx, op, req, data)
}

// drop closes the connection to endpoint (a member that went away).
func (p *peerPool) drop(endpoint string) {
	p.mu.Lock()
	c := p.conns[endpoint]
	delete(p.conns, endpoint)
	p.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

// close closes every connection; later calls fail with rpc.ErrClosed.
func (p *peerPool) close() {
	p.mu.Lock()
	conns := p.conns
	p.conns, p.closed = map[string]*rpc.Conn{}, true
	p.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}
