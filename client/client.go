package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/internal/bufpool"
	"github.com/emerge-dev/emerge/internal/curve"
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

// Client talks to one node. It is safe for concurrent use.
type Client struct {
	opts Options
	zctx *zmq.Context
	conn *rpc.Conn
	node NodeInfo
	pool bufpool.Pool
	shm  shmState
}

// Dial connects to the node at endpoint and checks that it answers within
// DialTimeout. The error names the endpoint and wraps ErrUnreachable when
// nothing answers.
func Dial(ctx context.Context, endpoint string, opts *Options) (*Client, error) {
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
	if c.zctx, err = zmq.NewContext(); err != nil {
		return nil, fmt.Errorf("zmq context: %w", err)
	}
	c.conn, err = rpc.Dial(rpc.ConnConfig{Context: c.zctx, Endpoint: endpoint, Logger: c.opts.Logger, Curve: keys})
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
	m, err := c.conn.Call(ctx, rpc.OpPing, &rpc.PingReq{}, nil)
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

// Close releases the connection. Safe to call twice.
func (c *Client) Close() error {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
	if c.zctx != nil {
		c.zctx.Term()
		c.zctx = nil
	}
	return nil
}

// call sends one request, applying the default timeout when ctx has none.
func (c *Client) call(ctx context.Context, op rpc.Op, req rpc.Body, data [][]byte) (*rpc.Message, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.opts.Timeout)
		defer cancel()
	}
	m, err := c.conn.Call(ctx, op, req, data)
	if errors.Is(err, context.DeadlineExceeded) && !c.conn.Connected() {
		err = fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	return m, err
}

// ParseRef reads a ref printed by put.
func ParseRef(s string) (blocks.Ref, error) { return blocks.ParseRef(s) }
