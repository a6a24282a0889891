package rpc

import (
	"fmt"
	"time"

	zmq "github.com/pebbe/zmq4"
)

// A refused handshake.
//
// When a node refuses our handshake (wrong cluster secret, a key it does not
// let in, CURVE on one side only), libzmq reports it on the socket monitor
// and gives the endpoint up for good: it does not reconnect after a protocol
// error. The connection then fails every call in flight and every new call
// at once with ErrDenied, naming the node, and connects again after
// refusedRetry, so a key let in again or a node restarted with the right
// secret is reached without a new Conn.

// refusedRetry is how long a refused connection waits before it tries again.
const refusedRetry = time.Second

// handshakeEvents are the monitor events of a handshake's outcome.
const handshakeEvents = zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_HANDSHAKE_FAILED_AUTH |
	zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL

// deniedError explains a refused handshake.
func (c *Conn) deniedError() error {
	if c.cfg.Curve == nil {
		return fmt.Errorf("%w: %s refused the handshake: it runs CURVE; give the cluster secret or a key", ErrDenied, c.cfg.Endpoint)
	}
	return fmt.Errorf("%w: %s refused the handshake: wrong cluster secret, key not allowed, or the node runs without CURVE", ErrDenied, c.cfg.Endpoint)
}

// failNow answers a call with the refusal without sending it.
func (c *Conn) failNow(cl *call) {
	if cl = c.take(cl.id); cl != nil {
		cl.result <- result{err: c.refused}
	}
}

// reconnect starts a new connection to the endpoint libzmq gave up on.
// Calls made from now on wait for its handshake. libzmq reconnects by itself
// after some refusals (the node closed the connection before saying why):
// when one of its attempts got in since, the connection is left alone, and
// while refused no call was sent, so starting over loses nothing.
func (c *Conn) reconnect() {
	if c.refused == nil {
		return
	}
	c.refused = nil
	c.sock.Disconnect(c.cfg.Endpoint) // libzmq may have forgotten it already
	if err := c.sock.Connect(c.cfg.Endpoint); err != nil {
		c.log.Debug().Err(err).Msg("rpc reconnect after a refused handshake")
	}
}
