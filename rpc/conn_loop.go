package rpc

import (
	"fmt"
	"time"

	zmq "github.com/pebbe/zmq4"
)

// recvBatch caps the messages an owner reads before it looks at its other
// work again.
const recvBatch = 256

// loop is the only goroutine calling into c.sock and c.mon. It sleeps in
// the netpoller on the DEALER's descriptor (sleep.go); Call wakes it when it
// queues a call, the monitor's watcher when the monitor has events, Close
// when it quits, and a deadline when a refused connection is due for
// another try.
func (c *Conn) loop() {
	defer close(c.done)
	defer c.closeSockets()
	var backlog []*call
	// Commands may have been processed while the sockets were set up (the
	// monitor pipe's activation during Connect), leaving messages that no
	// descriptor edge will announce: the first round reads them.
	var retry time.Time // set while the node refuses our handshake
	c.monEvents.Store(true)
	err := c.sleep.Run(func() (time.Time, bool) {
		select {
		case <-c.quit:
			return time.Time{}, true
		default:
		}
		if c.monEvents.Swap(false) {
			if c.events() && retry.IsZero() {
				retry = time.Now().Add(refusedRetry)
			}
			c.monW.Rearm()
		}
		if !retry.IsZero() && !time.Now().Before(retry) {
			retry = time.Time{}
			c.reconnect() // the round's last call processes what Connect queued
		}
		if c.refused != nil {
			c.refuseQueued()
		}
		backlog = c.round(backlog)
		return retry, false
	})
	if err != nil {
		c.log.Error().Err(err).Msg("rpc conn: waiting for the socket failed")
		c.failAll(fmt.Errorf("%w: %s: %v", ErrUnreachable, c.cfg.Endpoint, err))
		<-c.quit
	}
}

// refuseQueued fails the calls queued while the node refuses our handshake.
func (c *Conn) refuseQueued() {
	for {
		select {
		case cl := <-c.sendq:
			c.failNow(cl)
		default:
			return
		}
	}
}

// round sends what it can and delivers every reply that has arrived. Its
// last call into the socket processes every command queued for it (a
// receive that ends in EAGAIN, or ZMQ_EVENTS), so nothing is left that would
// not signal the watcher again.
func (c *Conn) round(backlog []*call) []*call {
	for idle := 0; idle < 2; {
		var sent int
		backlog, sent = c.flush(c.takeQueued(backlog))
		got := c.receive()
		if got == recvBatch {
			continue
		}
		if len(backlog) == 0 && len(c.sendq) == 0 {
			return backlog
		}
		if sent+got > 0 {
			idle = 0
		} else {
			idle++ // guards against a socket that says POLLOUT but refuses
		}
		// A DEALER's POLLOUT is exact: the backlog can move again.
		ev, err := c.sock.GetEvents()
		if err != nil || ev&(zmq.POLLIN|zmq.POLLOUT) == 0 && len(c.sendq) == 0 {
			return backlog
		}
	}
	return backlog
}

// takeQueued moves queued calls to the backlog.
func (c *Conn) takeQueued(backlog []*call) []*call {
	for {
		select {
		case cl := <-c.sendq:
			backlog = append(backlog, cl)
		default:
			return backlog
		}
	}
}

// flush moves backlog calls to the socket until it would block, and returns
// the rest and how many left the backlog.
func (c *Conn) flush(backlog []*call) ([]*call, int) {
	sent := 0
	for _, cl := range backlog {
		if !c.isPending(cl.id) { // canceled while queued
			sent++
			continue
		}
		if n, err := sendFrames(c.sock, nil, cl.head, cl.data); err != nil {
			if n == 0 && isAgain(err) {
				break // nothing queued: retried when the socket has room
			}
			if cl = c.take(cl.id); cl != nil {
				cl.result <- result{err: fmt.Errorf("%s: send %s: %w", c.cfg.Endpoint, cl.op, err)}
			}
		}
		sent++
	}
	n := copy(backlog, backlog[sent:])
	clear(backlog[n:])
	return backlog[:n], sent
}

// receive delivers the replies that have arrived, up to recvBatch, and
// returns how many it read.
func (c *Conn) receive() int {
	for i := 0; i < recvBatch; i++ {
		frames, err := c.sock.RecvMessageBytes(zmq.DONTWAIT)
		if err != nil {
			return i
		}
		c.deliver(frames)
	}
	return recvBatch
}

func (c *Conn) deliver(frames [][]byte) {
	if len(frames) < 2 || len(frames[0]) != 0 {
		c.log.Debug().Int("frames", len(frames)).Msg("rpc reply without delimiter dropped")
		return
	}
	m, err := ParseFrames(frames[1:], c.cfg.Limits)
	if m == nil {
		c.log.Debug().Err(err).Msg("rpc reply unreadable, dropped")
		return
	}
	cl := c.take(m.ID)
	if cl == nil {
		return // canceled, timed out, or failed by a disconnect
	}
	switch {
	case err != nil:
		cl.result <- result{err: fmt.Errorf("%s: reply to %s: %w", c.cfg.Endpoint, cl.op, err)}
	case m.Status != StatusOK:
		cl.result <- result{msg: m, err: &StatusError{Status: m.Status, Msg: m.Msg}}
	default:
		cl.result <- result{msg: m}
	}
}

// events reads socket monitor events: a dropped connection fails every call
// in flight, because the node's replies to them can no longer arrive, and so
// does a failed attempt to connect (ZeroMQ schedules a retry after a refused
// or failed connect): nothing listens at the endpoint, so a caller learns it
// at once instead of at its deadline. The socket keeps retrying; calls made
// after it connects go through.
//
// It reports whether a handshake was refused: libzmq then gives up on the
// endpoint, and the loop connects again after a while (conn_auth.go).
func (c *Conn) events() (refused bool) {
	for {
		ev, _, _, err := c.mon.RecvEvent(zmq.DONTWAIT)
		if err != nil {
			return refused
		}
		switch ev {
		case zmq.EVENT_CONNECTED:
			c.up.Store(true)
		case zmq.EVENT_HANDSHAKE_SUCCEEDED:
			c.refused = nil
		case zmq.EVENT_DISCONNECTED:
			c.up.Store(false)
			c.failAll(c.lost(fmt.Errorf("%w: connection to %s lost", ErrUnreachable, c.cfg.Endpoint)))
		case zmq.EVENT_CONNECT_RETRIED:
			if !c.up.Load() {
				c.failAll(c.lost(fmt.Errorf("%w: cannot connect to %s", ErrUnreachable, c.cfg.Endpoint)))
			}
		case zmq.EVENT_HANDSHAKE_FAILED_AUTH, zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL:
			c.refused, refused = c.deniedError(), true
			c.failAll(c.refused)
		}
	}
}

// lost is the error for calls failed by a dropped or refused connection:
// while the node refuses our handshake, that refusal, not a network fault.
func (c *Conn) lost(err error) error {
	if c.refused != nil {
		return c.refused
	}
	return err
}
