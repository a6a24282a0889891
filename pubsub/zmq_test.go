package pubsub

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"
)

// newContext makes a ZeroMQ context terminated at cleanup; termination
// blocks on any socket left open, so a bus that leaks a socket fails here.
func newContext(t *testing.T) *zmq.Context {
	t.Helper()
	zctx, err := zmq.NewContext()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		done := make(chan error, 1)
		go func() { done <- zctx.Term() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("context term: %v", err)
			}
		case <-time.After(waitTimeout):
			t.Error("context term blocked: a socket was left open")
		}
	})
	return zctx
}

func zmqConfig(zctx *zmq.Context, name string) Config {
	return Config{Context: zctx, NodeID: name, Listen: "tcp://127.0.0.1:*"}
}

func newZMQ(t *testing.T, cfg Config) *ZMQBus {
	t.Helper()
	b, err := NewZMQ(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func zmqBuses(t *testing.T, names []string, buffer int) []Bus {
	zctx := newContext(t)
	buses := make([]Bus, len(names))
	for i, name := range names {
		cfg := zmqConfig(zctx, name)
		cfg.Buffer = buffer
		buses[i] = newZMQ(t, cfg)
	}
	return buses
}

func TestZMQConformance(t *testing.T) {
	checkNoLeak(t)
	testConformance(t, zmqBuses)
}

func TestZMQEndpoint(t *testing.T) {
	zctx := newContext(t)
	b := newZMQ(t, zmqConfig(zctx, "a"))
	ep := b.Endpoint()
	if !strings.HasPrefix(ep, "tcp://127.0.0.1:") || strings.Contains(ep, "*") || strings.HasSuffix(ep, ":0") {
		t.Fatalf("endpoint %q not resolved", ep)
	}
	cfg := zmqConfig(zctx, "b")
	cfg.Listen = ep
	if _, err := NewZMQ(cfg); !errors.Is(err, ErrBadEndpoint) {
		t.Fatalf("second bind of %s: %v, want ErrBadEndpoint", ep, err)
	}
}

func TestZMQConfig(t *testing.T) {
	if _, err := NewZMQ(Config{Listen: "tcp://127.0.0.1:*"}); !errors.Is(err, ErrBadConfig) {
		t.Errorf("no context: %v, want ErrBadConfig", err)
	}
	zctx := newContext(t)
	cfg := zmqConfig(zctx, "a")
	cfg.Buffer = -1
	if _, err := NewZMQ(cfg); !errors.Is(err, ErrBadConfig) {
		t.Errorf("negative buffer: %v, want ErrBadConfig", err)
	}
	cfg = zmqConfig(zctx, "a")
	cfg.Listen = "nonsense"
	if _, err := NewZMQ(cfg); !errors.Is(err, ErrBadEndpoint) {
		t.Errorf("bad listen: %v, want ErrBadEndpoint", err)
	}
}

// TestZMQLeak: a mesh of buses that exchanged messages leaves no goroutine
// behind once closed, and Close twice is fine.
func TestZMQLeak(t *testing.T) {
	checkNoLeak(t)
	zctx := newContext(t)
	var buses []Bus
	for _, name := range names(3) {
		b, err := NewZMQ(zmqConfig(zctx, name))
		if err != nil {
			t.Fatal(err)
		}
		buses = append(buses, b)
	}
	cols := make([]*collector, len(buses))
	for i, b := range buses {
		cols[i] = collect(b)
	}
	if err := Mesh(buses...); err != nil {
		t.Fatal(err)
	}
	awaitMesh(t, buses, cols)
	for _, b := range buses {
		for range 2 {
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, c := range cols {
		<-c.done
	}
}

// TestZMQGarbage: frames from a raw PUB socket that are not messages are
// counted as malformed and dropped; good frames after them still arrive.
func TestZMQGarbage(t *testing.T) {
	zctx := newContext(t)
	b := newZMQ(t, zmqConfig(zctx, "a"))
	col := collect(b)
	raw, ep := rawPub(t, zctx)
	if err := b.Connect(ep); err != nil {
		t.Fatal(err)
	}
	garbage := [][]byte{{}, {0xff}, []byte("hello, world"), {Version, 99, 0x80}, {Version, byte(TypeLeave), 0xc1}}
	eventually(t, "garbage to be counted", func() bool {
		for _, g := range garbage {
			if _, err := raw.SendBytes(g, zmq.DONTWAIT); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := raw.SendMessageDontwait("two", "parts"); err != nil {
			t.Fatal(err)
		}
		return b.Stats().Malformed >= uint64(len(garbage)+1)
	})
	good, err := Encode(Message{Type: TypeLeave, From: "raw", Incarnation: 5})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "a good frame after the garbage", func() bool {
		if _, err := raw.SendBytes(good, zmq.DONTWAIT); err != nil {
			t.Fatal(err)
		}
		return col.has(from("raw"))
	})
	if s := b.Stats(); s.Received == 0 || s.Malformed == 0 {
		t.Fatalf("stats %+v", s)
	}
}

// rawPub binds a bare PUB socket, used by the test goroutine only.
func rawPub(t *testing.T, zctx *zmq.Context) (*zmq.Socket, string) {
	t.Helper()
	s, err := newSocket(zctx, zmq.PUB)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Bind("tcp://127.0.0.1:*"); err != nil {
		t.Fatal(err)
	}
	ep, err := s.GetLastEndpoint()
	if err != nil {
		t.Fatal(err)
	}
	return s, ep
}

// TestZMQContextTerm: a node that terminates its context without closing the
// bus first does not hang: the owner sees ETERM, closes its sockets and
// stops; Close and Publish still answer.
func TestZMQContextTerm(t *testing.T) {
	checkNoLeak(t)
	zctx, err := zmq.NewContext()
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewZMQ(zmqConfig(zctx, "a"))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- zctx.Term() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("term: %v", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("context term blocked on the bus's sockets")
	}
	if err := b.Close(); err != nil {
		t.Fatalf("close after term: %v", err)
	}
	if err := b.Publish(t.Context(), Message{Type: TypeLeave, From: "a"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("publish after term: %v", err)
	}
}

// TestZMQOwnMessages: a bus connected to itself under another name for its
// endpoint (as a node may be, through the registry) drops what it hears
// from its own node id.
func TestZMQOwnMessages(t *testing.T) {
	zctx := newContext(t)
	b := newZMQ(t, zmqConfig(zctx, "a"))
	col := collect(b)
	alias := strings.Replace(b.Endpoint(), "127.0.0.1", "localhost", 1)
	if err := b.Connect(alias); err != nil {
		t.Fatal(err)
	}
	// Frames on one connection arrive in order: once "x" is heard, the "a"
	// published just before it on the same connection was heard too.
	eventually(t, "the bus to hear itself", func() bool {
		for _, f := range []string{"", "x"} {
			if err := b.Publish(t.Context(), Message{Type: TypeLeave, From: f}); err != nil {
				t.Fatal(err)
			}
		}
		return col.has(from("x"))
	})
	if col.has(from("a")) {
		t.Fatal("own message delivered")
	}
}

// TestZMQConcurrentPublish: publishers on several goroutines, with commands
// interleaved, lose no wake-up: every message is delivered or counted as
// dropped, none stays stuck in the queue.
func TestZMQConcurrentPublish(t *testing.T) {
	const writers, each = 4, 500
	zctx := newContext(t)
	var buses []*ZMQBus
	for _, name := range names(2) {
		cfg := zmqConfig(zctx, name)
		cfg.SendHWM, cfg.RecvHWM, cfg.Buffer = 1<<20, 1<<20, writers*each
		buses = append(buses, newZMQ(t, cfg))
	}
	pub, sub := buses[0], buses[1]
	col := collect(sub)
	if err := sub.Connect(pub.Endpoint()); err != nil {
		t.Fatal(err)
	}
	awaitDelivery(t, pub, sub)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for k := range each {
				if err := pub.Publish(t.Context(), whoHas("n0", uint64(w*each+k))); err != nil {
					t.Error(err)
				}
				if k%50 == 0 { // commands share the owner's wake-ups
					pub.Connect("tcp://127.0.0.1:1")
					pub.Disconnect("tcp://127.0.0.1:1")
				}
			}
		})
	}
	wg.Wait()
	isWhoHas := func(m Message) bool { return m.Type == TypeWhoHas }
	eventually(t, "every message delivered or counted", func() bool {
		got := uint64(col.count(isWhoHas))
		s, d := sub.Stats(), pub.Stats()
		return got+s.RecvDropped+d.SendDropped == writers*each
	})
}

// awaitDelivery publishes probes until sub hears pub, then drains sub.
func awaitDelivery(t *testing.T, pub, sub Bus) {
	t.Helper()
	eventually(t, "the subscriber to join", func() bool {
		if err := pub.Publish(t.Context(), Message{Type: TypeLeave}); err != nil {
			t.Fatal(err)
		}
		return sub.Stats().Received > 0
	})
}
