package rpc

import (
	"fmt"

	zmq "github.com/pebbe/zmq4"
)

// loop is the only goroutine touching c.sock and c.mon.
func (c *Conn) loop() {
	defer close(c.done)
	defer c.wake.close()
	defer c.closeSockets()
	var backlog []*call
	poller := zmq.NewPoller()
	poller.Add(c.sock, zmq.POLLIN)
	poller.Add(c.wake.pull, zmq.POLLIN)
	poller.Add(c.mon, zmq.POLLIN)
	for {
		events := zmq.POLLIN
		if len(backlog) > 0 {
			events |= zmq.POLLOUT
		}
		poller.Update(0, events)
		if _, err := poller.Poll(-1); err != nil && !isRetry(err) {
			c.log.Error().Err(err).Msg("rpc conn poll")
			return
		}
		c.wake.drain()
		select {
		case <-c.quit:
			return
		default:
		}
		c.events()
		backlog = c.flush(backlog)
		c.receive()
	}
}

// flush moves queued calls to the socket until it would block.
func (c *Conn) flush(backlog []*call) []*call {
	for {
		select {
		case cl := <-c.sendq:
			backlog = append(backlog, cl)
			continue
		default:
		}
		break
	}
	sent := 0
	for _, cl := range backlog {
		if !c.isPending(cl.id) { // canceled while queued
			sent++
			continue
		}
		if err := sendFrames(c.sock, nil, cl.head, cl.data); err != nil {
			if isAgain(err) {
				break
			}
			if cl = c.take(cl.id); cl != nil {
				cl.result <- result{err: fmt.Errorf("%s: send %s: %w", c.cfg.Endpoint, cl.op, err)}
			}
		}
		sent++
	}
	rest := backlog[sent:]
	if len(rest) == 0 {
		return backlog[:0]
	}
	return append(backlog[:0], rest...)
}

// receive delivers every reply that has arrived.
func (c *Conn) receive() {
	for i := 0; i < 256; i++ {
		frames, err := c.sock.RecvMessageBytes(zmq.DONTWAIT)
		if err != nil {
			return
		}
		c.deliver(frames)
	}
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
// in flight, because the node's replies to them can no longer arrive.
func (c *Conn) events() {
	for {
		ev, _, _, err := c.mon.RecvEvent(zmq.DONTWAIT)
		if err != nil {
			return
		}
		switch ev {
		case zmq.EVENT_CONNECTED:
			c.up.Store(true)
		case zmq.EVENT_DISCONNECTED:
			c.up.Store(false)
			c.failAll(fmt.Errorf("%w: connection to %s lost", ErrUnreachable, c.cfg.Endpoint))
		}
	}
}
