package pubsub

import (
	"crypto/rand"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/emerge-dev/emerge/internal/zmtptest"
)

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
	s, err := zmtptest.DialSub(b.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	sent := make(chan error, 1)
	go func() { sent <- s.Flood(200000, 32, 1) }()
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
	s.Close()
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
