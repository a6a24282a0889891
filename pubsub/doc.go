// Package pubsub is emerge's broadcast bus: every node binds one PUB socket
// and connects one SUB socket to the PUB socket of every member, and the
// members exchange small typed messages — hello, heartbeat, leave, who-has,
// have, delete, prefetch.
//
// The bus is lossy by design. ZeroMQ PUB/SUB drops messages for late joiners
// (a SUB only hears what is published after its connection is up) and when a
// high-water mark is reached; this package drops too, and counts it, when a
// consumer is slow or a publisher outruns the socket. The bus never retries:
// every protocol built on it repeats or reconciles (heartbeat digests trigger
// a registry pull over rpc, who-has is re-asked, prefetch has progress).
//
// Wire form: one ZeroMQ frame per message,
//
//	[protocol version byte][type byte][msgpack body]
//
// The body is a msgpack map with short keys, one wire struct per type, kept
// apart from the domain Message. Every length and count is capped (see
// limits.go); Decode checks every declared length against the input before
// anything is allocated and returns ErrBadMessage, never panics. Type numbers
// are append-only.
//
// What subscribers can make a node hold is bounded: the PUB side is an XPUB
// that reads every subscription, and a connection that subscribes to topics
// the bus does not use (it uses only "") is cut once it has sent more than a
// few KiB (guard.go). Random bytes at the port are refused by libzmq (a ZAP
// domain is set, so ZMTP 1.0 peers are not accepted).
//
// Two implementations of Bus: ZMQBus, the real one (one goroutine owns both
// sockets; callers talk to it over channels and wake it through an inproc
// socket), and Hub/MemBus, an in-memory network for unit tests of other
// packages, with seeded loss and delay, that still encodes and decodes every
// message through the wire form.
package pubsub
