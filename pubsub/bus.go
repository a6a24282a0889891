package pubsub

import (
	"context"
	"errors"
	"sync/atomic"
)

// Bus is one node's view of the broadcast bus. ZMQBus is the real one; MemBus
// (from a Hub) is the in-memory one for tests. Both are safe for concurrent
// use.
type Bus interface {
	// Publish encodes m (stamping the bus's node id when m.From is empty) and
	// queues it for every connected subscriber. It does not wait for the
	// network: when the outbound queue is full the message is dropped and
	// counted (Stats.SendDropped), and nil is returned, as a PUB socket does
	// at its high-water mark. Encoding errors (ErrBadMessage, ErrTooLarge)
	// are returned; so are ctx's error and ErrClosed.
	Publish(ctx context.Context, m Message) error
	// Messages delivers messages from connected peers, never the bus's own.
	// When the consumer is slow, messages are dropped (Stats.RecvDropped)
	// rather than stall the socket. It is closed by Close.
	Messages() <-chan Message
	// Connect subscribes to the PUB endpoint of a member. Connecting twice,
	// or to the bus's own endpoint, does nothing. The connection is made in
	// the background: messages published before it is up are lost.
	Connect(endpoint string) error
	// Disconnect undoes Connect; nothing more from endpoint is delivered once
	// it returns. Disconnecting an endpoint not connected does nothing.
	Disconnect(endpoint string) error
	// Endpoint is the bus's own PUB endpoint, resolved when bound to an
	// ephemeral port; members Connect to it.
	Endpoint() string
	// Stats returns the counters.
	Stats() Stats
	// Close stops the bus and waits for its goroutines. Idempotent.
	Close() error
}

// Stats are a bus's counters since it started.
type Stats struct {
	// Published: messages handed to the transport.
	Published uint64
	// Received: messages from peers delivered to Messages().
	Received uint64
	// SendDropped: messages Publish dropped because the outbound queue was
	// full. ZeroMQ's own drops at a subscriber's high-water mark are silent
	// on a PUB socket and not counted; the Hub counts its drops (simulated
	// loss, a full subscriber queue) here, once per subscriber.
	SendDropped uint64
	// RecvDropped: well-formed messages dropped because Messages() was full.
	RecvDropped uint64
	// Malformed: inbound frames that failed to decode (ErrBadMessage).
	Malformed uint64
}

type counters struct {
	published, received, sendDropped, recvDropped, malformed atomic.Uint64
}

func (c *counters) stats() Stats {
	return Stats{
		Published:   c.published.Load(),
		Received:    c.received.Load(),
		SendDropped: c.sendDropped.Load(),
		RecvDropped: c.recvDropped.Load(),
		Malformed:   c.malformed.Load(),
	}
}

// deliver hands m to the consumer without blocking.
func deliver(out chan<- Message, m Message, c *counters) {
	select {
	case out <- m:
		c.received.Add(1)
	default:
		c.recvDropped.Add(1)
	}
}

// Mesh connects every bus to every other bus: a full mesh, as a node does
// with the members it knows. Handy in tests; it joins the errors of all the
// Connect calls.
func Mesh(buses ...Bus) error {
	var errs []error
	for _, a := range buses {
		for _, b := range buses {
			if a != b {
				errs = append(errs, a.Connect(b.Endpoint()))
			}
		}
	}
	return errors.Join(errs...)
}
