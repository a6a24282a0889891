package pubsub

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// zmtpSub speaks just enough ZMTP 3.0 (NULL mechanism) to subscribe: the
// flood comes from raw bytes, so the test process holds no subscriber-side
// state and its RSS is the bus's.
type zmtpSub struct {
	conn net.Conn
	w    *bufio.Writer
}

func dialZMTPSub(t *testing.T, endpoint string) *zmtpSub {
	t.Helper()
	addr, ok := strings.CutPrefix(endpoint, "tcp://")
	if !ok {
		t.Fatalf("not a tcp endpoint: %s", endpoint)
	}
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &zmtpSub{conn: conn, w: bufio.NewWriterSize(conn, 64<<10)}
	greet := make([]byte, 64)
	greet[0], greet[9], greet[10], greet[11] = 0xff, 0x7f, 3, 0
	copy(greet[12:], "NULL")
	s.w.Write(greet)
	body := append([]byte{5}, "READY"...)
	body = append(body, 11)
	body = append(body, "Socket-Type"...)
	body = binary.BigEndian.AppendUint32(body, 3)
	body = append(body, "SUB"...)
	s.w.Write([]byte{0x04, byte(len(body))})
	s.w.Write(body)
	if err := s.w.Flush(); err != nil {
		t.Fatal(err)
	}
	// The peer's greeting and READY: data sent before the handshake is
	// over would be taken for a command.
	r := bufio.NewReader(conn)
	if _, err := io.ReadFull(r, make([]byte, 64)); err != nil {
		t.Fatalf("zmtp greeting: %v", err)
	}
	if _, err := readFrame(r); err != nil {
		t.Fatalf("zmtp ready: %v", err)
	}
	go io.Copy(io.Discard, r) // whatever is published
	return s
}

// readFrame reads one ZMTP frame and returns its body.
func readFrame(r *bufio.Reader) ([]byte, error) {
	flags, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	var size uint64
	if flags&0x02 != 0 {
		var b [8]byte
		_, err = io.ReadFull(r, b[:])
		size = binary.BigEndian.Uint64(b[:])
	} else {
		var b byte
		b, err = r.ReadByte()
		size = uint64(b)
	}
	if err != nil || size > 1<<20 {
		return nil, fmt.Errorf("zmtp frame of %d bytes: %v", size, err)
	}
	body := make([]byte, size)
	_, err = io.ReadFull(r, body)
	return body, err
}

// subscribe sends one subscription message (ZMTP 3.0: a data frame starting
// with 1).
func (s *zmtpSub) subscribe(topic string) error {
	s.w.Write([]byte{0x00, byte(1 + len(topic)), 1})
	_, err := s.w.WriteString(topic)
	return err
}

func (s *zmtpSub) flush() error { return s.w.Flush() }
func (s *zmtpSub) close()       { s.conn.Close() }

// rssBytes reads this process's resident set size from /proc.
func rssBytes(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// 200k distinct subscriptions at the PUB port: the flooding connection is
// cut, the bus's memory stays bounded (an unguarded PUB socket grew by 270
// MiB here and kept it after the subscriber left), and an honest subscriber
// keeps hearing messages.
func TestSubscriptionFloodIsBounded(t *testing.T) {
	zctx := newContext(t)
	b := newZMQ(t, zmqConfig(zctx, "a"))
	honest := newZMQ(t, zmqConfig(zctx, "b"))
	if err := honest.Connect(b.Endpoint()); err != nil {
		t.Fatal(err)
	}
	base := rssBytes(t)
	s := dialZMTPSub(t, b.Endpoint())
	sent := make(chan error, 1)
	go func() { sent <- flood(s, 200000) }()
	peak := base
	publish := func() {
		b.Publish(t.Context(), Message{Type: TypeLeave, Incarnation: 1})
		peak = max(peak, rssBytes(t))
	}
	eventually(t, "the flood to end", func() bool {
		publish()
		select {
		case err := <-sent:
			t.Logf("flood ended: %v", err)
			return true
		default:
			return false
		}
	})
	s.close()
	heard := honest.Stats().Received
	eventually(t, "the honest subscriber to hear a message after the flood", func() bool {
		publish()
		return honest.Stats().Received > heard
	})
	after := rssBytes(t)
	g := b.GuardStats()
	t.Logf("rss: base %d MiB, peak %d MiB, after %d MiB; foreign subscriptions %d, connections cut %d",
		base>>20, peak>>20, after>>20, g.ForeignSubs, g.Cut)
	if g.Cut == 0 {
		t.Fatal("the flooding connection was not cut")
	}
	if peak-base > 48<<20 || after-base > 48<<20 {
		t.Fatalf("RSS grew from %d MiB to %d MiB (after: %d MiB), want under 48 MiB of growth", base>>20, peak>>20, after>>20)
	}
}

// flood subscribes to n random 32-byte topics.
func flood(s *zmtpSub, n int) error {
	for i := 0; i < n; i++ {
		var topic [32]byte
		rand.Read(topic[:])
		if err := s.subscribe(string(topic[:])); err != nil {
			return err
		}
	}
	return s.flush()
}

// CutSubscribers drops every subscriber; honest ones come back by
// themselves.
func TestCutSubscribersReconnect(t *testing.T) {
	zctx := newContext(t)
	b := newZMQ(t, zmqConfig(zctx, "a"))
	sub := newZMQ(t, zmqConfig(zctx, "b"))
	if err := sub.Connect(b.Endpoint()); err != nil {
		t.Fatal(err)
	}
	hears := func(what string) {
		heard := sub.Stats().Received
		eventually(t, what, func() bool {
			b.Publish(t.Context(), Message{Type: TypeLeave, Incarnation: 1})
			return sub.Stats().Received > heard
		})
	}
	hears("a message before the cut")
	if err := b.CutSubscribers(); err != nil {
		t.Fatal(err)
	}
	if b.GuardStats().Cut != 1 {
		t.Fatalf("cut %d connections, want 1", b.GuardStats().Cut)
	}
	hears("a message after the subscriber reconnected")
}

// Random bytes at the PUB port never become subscriptions: the XPUB refuses
// peers that do not speak ZMTP 3.
func TestJunkAtPubPort(t *testing.T) {
	zctx := newContext(t)
	b := newZMQ(t, zmqConfig(zctx, "a"))
	addr := strings.TrimPrefix(b.Endpoint(), "tcp://")
	for i := 0; i < 50; i++ {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		junk := make([]byte, 4096)
		rand.Read(junk)
		conn.Write(junk)
		conn.Close()
	}
	sub := newZMQ(t, zmqConfig(zctx, "b"))
	if err := sub.Connect(b.Endpoint()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a message to an honest subscriber after the junk", func() bool {
		b.Publish(t.Context(), Message{Type: TypeLeave, Incarnation: 1})
		return sub.Stats().Received > 0
	})
	if g := b.GuardStats(); g.ForeignSubs != 0 {
		t.Fatalf("junk became %d subscriptions", g.ForeignSubs)
	}
}
