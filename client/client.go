package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/internal/bufpool"
	"github.com/emerge-dev/emerge/internal/curve"
	"github.com/emerge-dev/emerge/internal/endpoint"
	"github.com/emerge-dev/emerge/rpc"
	zmq "github.com/pebbe/zmq4"
	"github.com/rs/zerolog"
)

// Options tune a client. Zero values mean defaults.
type Options struct {
	// DialTimeout bounds Dial's first exchange with the node (default 5 s).
	DialTimeout time.Duration
	// Timeout bounds each request whose ctx has no deadline (default 60 s).
	Timeout time.Duration
	// Window is the number of block requests kept in flight (default 8).
	Window int
	// NoVerify skips re-hashing fetched blocks. The node verifies what it
	// gets from peers either way; this only drops the end-to-end check.
	NoVerify bool
	// VerifyLocal re-hashes blocks streamed from a node on this machine
	// too. By default a client trusts the verification of a node with its
	// own host id (the bytes never left the machine: the node checked them
	// against their id when it read them from its store or received them
	// from a peer) and re-hashes only what a node on another machine sends.
	VerifyLocal bool
	// NoShm never uses the node's shared memory, even on the same machine
	// (see Local).
	NoShm bool
	// Logger, default silent.
	Logger zerolog.Logger
	// ClusterSecretFile and KeyFile make the connection CURVE (encrypted,
	// authenticated), for nodes run with security.cluster_secret_file: the
	// secret alone, a key file (emerge keygen) that names the cluster's
	// server key, or both (the key file's key, the secret's server key).
	// Both empty: plaintext. A node that refuses them fails calls with
	// ErrDenied; unreadable or malformed files are ErrBadKey.
	ClusterSecretFile string
	KeyFile           string
}

// NodeInfo is what the node said about itself when the client dialed.
type NodeInfo struct {
	Endpoint  string
	ID        string
	Host      string
	Version   string
	BlockSize int
	MaxInline int64
}

// Client talks to one node. It is safe for concurrent use, Close included:
// Close aborts the calls and streamed reads in flight, which fail with
// ErrClientClosed, as does every call after it.
type Client struct {
	opts Options
	zctx *zmq.Context
	conn *rpc.Conn // set by Dial, never changed: Close closes it but keeps it
	node NodeInfo
	pool bufpool.Pool
	shm  shmState

	// closing is canceled first thing in Close: it aborts the calls in
	// flight and stops the readers' fetch loops.
	closing context.Context
	stopAll context.CancelFunc
	// mu is held for reading by each call in flight and for writing by
	// Close, so that Close closes the connection only once no call uses it.
	mu     sync.RWMutex
	closed bool
	// workers counts the goroutines of streamed readers; Close waits for
	// them. Add happens under mu's read lock while not closed.
	workers   sync.WaitGroup
	closeOnce sync.Once
}

// Dial connects to the node at endpoint (tcp://host:port, or host:port)
// and checks that it answers within DialTimeout. The error names the
// endpoint and wraps ErrUnreachable when nothing answers, ErrBadEndpoint
// when endpoint cannot be one.
func Dial(ctx context.Context, ep string, opts *Options) (*Client, error) {
	ep, err := endpoint.Dial(ep)
	if err != nil {
		return nil, err
	}
	c := &Client{}
	if opts != nil {
		c.opts = *opts
	}
	c.opts.fill()
	c.initShm()
	keys, err := curve.ClientFromFiles(c.opts.ClusterSecretFile, c.opts.KeyFile)
	if err != nil {
		return nil, err
	}
	c.closing, c.stopAll = context.WithCancel(context.Background())
	if c.zctx, err = zmq.NewContext(); err != nil {
		return nil, fmt.Errorf("zmq context: %w", err)
	}
	c.conn, err = rpc.Dial(rpc.ConnConfig{Context: c.zctx, Endpoint: ep, Logger: c.opts.Logger, Curve: keys})
	if err == nil {
		err = c.ping(ctx)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (o *Options) fill() {
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	if o.Window <= 0 {
		o.Window = 8
	}
}

func (c *Client) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.DialTimeout)
	defer cancel()
	m, err := c.call(ctx, rpc.OpPing, &rpc.PingReq{}, nil)
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: no node answering at %s (waited %s)", ErrUnreachable, c.conn.Endpoint(), c.opts.DialTimeout)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", c.conn.Endpoint(), err)
	}
	var rep rpc.PingRep
	if err := m.Decode(&rep); err != nil {
		return err
	}
	c.node = NodeInfo{Endpoint: c.conn.Endpoint(), ID: rep.Node, Host: rep.Host, Version: rep.Version,
		BlockSize: rep.BlockSize, MaxInline: rep.MaxInline}
	return nil
}

// Node describes the node this client talks to.
func (c *Client) Node() NodeInfo { return c.node }

// Close aborts the calls and streamed reads in flight, waits for them, and
// releases the connection. Safe to call twice, and concurrently with any
// other method. Readers (and views) still open fail their next fetch with
// ErrClientClosed; close them as usual.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.stopAll()
		c.mu.Lock() // every call in flight has returned
		c.closed = true
		c.mu.Unlock()
		c.workers.Wait()
		if c.conn != nil {
			c.conn.Close()
		}
		if c.zctx != nil {
			c.zctx.Term()
		}
	})
	return nil
}

// enter registers a call in flight; false once the client is closed.
func (c *Client) enter() bool {
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return false
	}
	return true
}

func (c *Client) leave() { c.mu.RUnlock() }

// goWorker runs f on a goroutine Close waits for; false (f not run) once
// the client is closed.
func (c *Client) goWorker(f func()) bool {
	if !c.enter() {
		return false
	}
	c.workers.Add(1)
	c.leave()
	go func() {
		defer c.workers.Done()
		f()
	}()
	return true
}

// call sends one request, applying the default timeout when ctx has none.
// It fails with ErrClientClosed once Close has begun.
func (c *Client) call(ctx context.Context, op rpc.Op, req rpc.Body, data [][]byte) (*rpc.Message, error) {
	if !c.enter() {
		return nil, fmt.Errorf("%s: %w", op, ErrClientClosed)
	}
	defer c.leave()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.opts.Timeout)
		defer cancel()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(c.closing, cancel)
	defer stop()
	m, err := c.conn.Call(ctx, op, req, data)
	switch {
	case err == nil:
		return m, nil
	case c.closing.Err() != nil:
		return nil, fmt.Errorf("%s: %w", op, ErrClientClosed)
	case errors.Is(err, context.DeadlineExceeded) && !c.conn.Connected():
		err = fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	return nil, matchDeleted(err)
}

// ParseRef reads a ref printed by put.
func ParseRef(s string) (blocks.Ref, error) { return blocks.ParseRef(s) }
