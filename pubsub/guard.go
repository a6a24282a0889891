package pubsub

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	zmq "github.com/pebbe/zmq4"
	"golang.org/x/sys/unix"
)

// The subscription guard: what a SUB connection can make the PUB side hold.
//
// A subscriber tells the publisher its topics, and libzmq keeps each one in a
// trie until the subscriber leaves. Nothing caps them: 200k random 32-byte
// topics sent at a node's PUB port held 270 MB, and the memory stayed after
// the subscriber left. The bus uses one topic, "" (every message), so:
//
//   - The PUB side is an XPUB in verbose mode: every subscription reaches the
//     owner, which reads them all (nothing piles up in the socket) and counts
//     topics other than "" as foreign.
//   - libzmq stores a topic before the owner sees it, and does not say which
//     connection sent it, so the owner cannot refuse a topic; it cuts the
//     connection instead. When foreign topics arrive, it looks at every
//     connection the XPUB accepted (a socket monitor reports their
//     descriptors) and shuts down those that sent more than subBudget bytes.
//     An honest subscriber sends its greeting, its handshake and one
//     subscription: under 1 KiB, CURVE included. libzmq then drops the
//     connection and its topics.
//   - The XPUB's receive high-water mark is small, so libzmq takes at most a
//     few subscriptions of a connection ahead of the owner; subscription
//     messages over subMaxMsg bytes disconnect their sender at once; and at
//     most maxSubscribers connections are kept (the newest beyond are cut).
//
// So one connection holds at most about subBudget bytes of topics, and the
// PUB side at most maxSubscribers of those. Only TCP connections are
// measured (TCP_INFO); an ipc endpoint is reachable only through the
// file system and is not guarded beyond the connection cap.
const (
	subBudget      = 4 << 10 // bytes a subscriber may send in all
	subMaxMsg      = 1 << 10 // bytes of one message from a subscriber (CURVE's INITIATE is ~300)
	subRcvHWM      = 16      // subscription messages libzmq buffers per connection
	maxSubscribers = 1024    // connections the PUB side keeps
	scanEvery      = 16      // foreign topics between two looks at the connections
)

// guard is owned by the bus owner goroutine, like the sockets.
type guard struct {
	bus     *ZMQBus
	mon     *zmq.Socket // PAIR: monitor events of the XPUB
	port    int         // the XPUB's TCP port; 0 for ipc
	fds     []int       // accepted connections, oldest first
	foreign int         // foreign topics not yet answered by a scan
}

// newGuard starts monitoring pub; call it before pub binds.
func newGuard(zctx *zmq.Context, pub *zmq.Socket, b *ZMQBus) (*guard, error) {
	addr := fmt.Sprintf("inproc://emerge-pubsub-guard-%p", pub)
	if err := pub.Monitor(addr, zmq.EVENT_ACCEPTED|zmq.EVENT_DISCONNECTED|zmq.EVENT_CLOSED); err != nil {
		return nil, fmt.Errorf("pubsub: monitor: %w", err)
	}
	mon, err := newSocket(zctx, zmq.PAIR)
	if err == nil {
		if err = mon.Connect(addr); err != nil {
			mon.Close()
		}
	}
	if err != nil {
		pub.Monitor("", 0)
		return nil, fmt.Errorf("pubsub: monitor: %w", err)
	}
	return &guard{bus: b, mon: mon}, nil
}

// bound records the port the XPUB listens on.
func (g *guard) bound(endpoint string) {
	if rest, ok := strings.CutPrefix(endpoint, "tcp://"); ok {
		if _, p, err := net.SplitHostPort(rest); err == nil {
			g.port, _ = strconv.Atoi(p)
		}
	}
}

// readSubs reads up to batch subscription messages from pub and reports
// whether more may wait. Foreign topics trigger a look at the connections.
func (g *guard) readSubs(pub *zmq.Socket) bool {
	for i := 0; i < batch; i++ {
		msg, err := pub.RecvBytes(zmq.DONTWAIT)
		if err != nil {
			g.settle()
			return false
		}
		if len(msg) == 1 && (msg[0] == 0 || msg[0] == 1) {
			continue // subscribe or unsubscribe "": the bus's own topic
		}
		g.bus.foreignSubs.Add(1)
		if g.foreign++; g.foreign >= scanEvery {
			g.settle()
		}
	}
	g.settle()
	return true
}

// settle answers the foreign topics seen since the last look.
func (g *guard) settle() {
	g.events()
	if g.foreign > 0 {
		g.foreign = 0
		g.cutOver(subBudget)
	}
}

// events reads the monitor: connections accepted and gone. Beyond
// maxSubscribers, the newest connections are cut.
func (g *guard) events() {
	for {
		ev, _, fd, err := g.mon.RecvEvent(zmq.DONTWAIT)
		if err != nil {
			return
		}
		switch ev {
		case zmq.EVENT_ACCEPTED:
			if len(g.fds) >= maxSubscribers {
				g.cut(fd)
				continue
			}
			g.fds = append(g.fds, fd)
		case zmq.EVENT_DISCONNECTED, zmq.EVENT_CLOSED:
			g.forget(fd)
		}
	}
}

func (g *guard) forget(fd int) {
	for i, f := range g.fds {
		if f == fd {
			g.fds = append(g.fds[:i], g.fds[i+1:]...)
			return
		}
	}
}

// cutOver shuts down the TCP connections that sent more than budget bytes.
func (g *guard) cutOver(budget uint64) {
	kept := g.fds[:0]
	for _, fd := range g.fds {
		info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
		if err == nil && info.Bytes_received > budget && g.ours(fd) {
			g.bus.log.Warn().Uint64("bytes", info.Bytes_received).Msg("subscriber sent foreign topics; connection cut")
			g.cut(fd)
			continue
		}
		kept = append(kept, fd)
	}
	g.fds = kept
}

// cutAll shuts down every accepted connection: the keys allowed in changed,
// and each subscriber must pass the handshake again.
func (g *guard) cutAll() {
	g.events()
	for _, fd := range g.fds {
		if g.ours(fd) {
			g.cut(fd)
		}
	}
	g.fds = g.fds[:0]
}

// cut shuts the connection down under libzmq, which sees it end and drops
// it with its topics. The descriptor stays libzmq's to close; it is no longer
// tracked (if its number comes back, it is another connection, accepted anew).
func (g *guard) cut(fd int) {
	if unix.Shutdown(fd, unix.SHUT_RDWR) == nil {
		g.bus.subsCut.Add(1)
	}
}

// ours reports whether fd is still a connection accepted on the XPUB's
// port: a descriptor libzmq closed since its event may have been reused.
func (g *guard) ours(fd int) bool {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return false
	}
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return g.port != 0 && a.Port == g.port
	case *unix.SockaddrInet6:
		return g.port != 0 && a.Port == g.port
	case *unix.SockaddrUnix:
		return g.port == 0
	}
	return false
}

func (g *guard) close() {
	if g.mon != nil {
		g.mon.Close()
	}
}
