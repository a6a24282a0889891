package pubsub

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"
)

// busFactory starts one bus per name, with node id = name and a Messages
// channel of buffer slots (0: default), not connected to each other. The
// factory registers their Close with t.Cleanup.
type busFactory func(t *testing.T, names []string, buffer int) []Bus

// testConformance runs the behaviour every Bus must have.
func testConformance(t *testing.T, newBuses busFactory) {
	t.Run("FullMesh", func(t *testing.T) { testFullMesh(t, newBuses) })
	t.Run("Disconnect", func(t *testing.T) { testDisconnect(t, newBuses) })
	t.Run("Close", func(t *testing.T) { testClose(t, newBuses) })
	t.Run("SlowConsumer", func(t *testing.T) { testSlowConsumer(t, newBuses) })
	t.Run("PublishErrors", func(t *testing.T) { testPublishErrors(t, newBuses) })
	t.Run("StampsFrom", func(t *testing.T) { testStampsFrom(t, newBuses) })
}

// meshed starts n buses, connects them in a full mesh (and each to itself,
// and twice, which must do nothing) and waits until every probe gets through.
func meshed(t *testing.T, newBuses busFactory, n int) ([]Bus, []*collector) {
	t.Helper()
	buses := newBuses(t, names(n), 0)
	cols := make([]*collector, n)
	for i, b := range buses {
		cols[i] = collect(b)
		if err := b.Connect(b.Endpoint()); err != nil {
			t.Fatalf("connect to self: %v", err)
		}
	}
	for range 2 {
		if err := Mesh(buses...); err != nil {
			t.Fatalf("mesh: %v", err)
		}
	}
	awaitMesh(t, buses, cols)
	return buses, cols
}

func whoHas(from string, req uint64) Message {
	return Message{Type: TypeWhoHas, From: from, ReqID: req, IDs: testIDs(int(req), 3), ReplyTo: "tcp://127.0.0.1:7700"}
}

func testFullMesh(t *testing.T, newBuses busFactory) {
	const n, per = 4, 20
	buses, cols := meshed(t, newBuses, n)
	ids := names(n)
	for i, b := range buses {
		for k := range per {
			if err := b.Publish(t.Context(), whoHas(ids[i], uint64(i*1000+k))); err != nil {
				t.Fatal(err)
			}
		}
	}
	for j, c := range cols {
		eventually(t, ids[j]+" to get every whohas", func() bool {
			return c.count(func(m Message) bool { return m.Type == TypeWhoHas }) >= (n-1)*per
		})
		checkWhoHas(t, c, ids[j], n, per)
		if c.has(from(ids[j])) {
			t.Errorf("%s received its own message", ids[j])
		}
	}
}

// checkWhoHas verifies that c holds exactly the whohas messages of the other
// buses, each once and intact.
func checkWhoHas(t *testing.T, c *collector, self string, n, per int) {
	t.Helper()
	seen := map[uint64]int{}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.msgs {
		if m.Type != TypeWhoHas {
			continue
		}
		seen[m.ReqID]++
		if want := whoHas(m.From, m.ReqID); !reflect.DeepEqual(m, want) {
			t.Errorf("%s got %+v, want %+v", self, m, want)
		}
	}
	if len(seen) != (n-1)*per {
		t.Errorf("%s saw %d distinct whohas, want %d", self, len(seen), (n-1)*per)
	}
}

func testDisconnect(t *testing.T, newBuses busFactory) {
	buses, cols := meshed(t, newBuses, 3)
	a, b, c := buses[0], buses[1], buses[2]
	for range 2 {
		if err := b.Disconnect(a.Endpoint()); err != nil {
			t.Fatalf("disconnect: %v", err)
		}
	}
	marked := func(m Message) bool { return m.Type == TypeDelete && m.From == "n0" }
	for k := range 20 {
		if err := a.Publish(t.Context(), Message{Type: TypeDelete, Ref: testRef(k)}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "the witness to get a's deletes", func() bool { return cols[2].count(marked) == 20 })
	// c's message follows a's on the wire; once b has it, a's would have
	// arrived had b still been connected.
	eventually(t, "b to hear c after a's deletes", func() bool {
		if err := c.Publish(t.Context(), Message{Type: TypeLeave, Incarnation: 7}); err != nil {
			t.Fatal(err)
		}
		return cols[1].has(func(m Message) bool { return m.Type == TypeLeave && m.From == "n2" })
	})
	if n := cols[1].count(marked); n != 0 {
		t.Fatalf("b got %d messages from a after Disconnect", n)
	}
	if err := b.Connect(a.Endpoint()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b to hear a again after Connect", func() bool {
		if err := a.Publish(t.Context(), Message{Type: TypeLeave, Incarnation: 8}); err != nil {
			t.Fatal(err)
		}
		return cols[1].has(func(m Message) bool { return m.Type == TypeLeave && m.From == "n0" })
	})
}

func testClose(t *testing.T, newBuses busFactory) {
	b := newBuses(t, names(1), 0)[0]
	for range 2 {
		if err := b.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
	}
	select {
	case _, open := <-b.Messages():
		if open {
			t.Fatal("a message after Close")
		}
	case <-time.After(waitTimeout):
		t.Fatal("Messages still open after Close")
	}
	err := b.Publish(t.Context(), Message{Type: TypeLeave, From: "x"})
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("Publish after Close: %v, want ErrClosed", err)
	}
	if err := b.Connect(b.Endpoint() + "0"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Connect after Close: %v, want ErrClosed", err)
	}
	if err := b.Disconnect(b.Endpoint()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Disconnect after Close: %v, want ErrClosed", err)
	}
}

// testSlowConsumer: a consumer that does not read makes the bus drop and
// count, not stall; once it reads again, messages flow again.
func testSlowConsumer(t *testing.T, newBuses busFactory) {
	const buffer = 4
	buses := newBuses(t, names(2), buffer)
	pub, sub := buses[0], buses[1]
	if err := sub.Connect(pub.Endpoint()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the buffer to fill and overflow", func() bool {
		if err := pub.Publish(t.Context(), Message{Type: TypeLeave, Incarnation: 1}); err != nil {
			t.Fatal(err)
		}
		s := sub.Stats()
		return s.Received == buffer && s.RecvDropped > 0
	})
	for range buffer {
		<-sub.Messages()
	}
	eventually(t, "delivery to resume", func() bool {
		if err := pub.Publish(t.Context(), Message{Type: TypeLeave, Incarnation: 2}); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-sub.Messages():
			return m.Incarnation == 2
		default:
			return false
		}
	})
}

func testPublishErrors(t *testing.T, newBuses busFactory) {
	b := newBuses(t, names(1), 0)[0]
	big := Message{Type: TypeWhoHas, IDs: testIDs(1, MaxIDs+1), ReplyTo: "tcp://x:1"}
	if err := b.Publish(t.Context(), big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized publish: %v, want ErrTooLarge", err)
	}
	if err := b.Publish(t.Context(), Message{Type: 200}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("unknown type: %v, want ErrUnsupported", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := b.Publish(ctx, Message{Type: TypeLeave}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled publish: %v, want context.Canceled", err)
	}
	if err := b.Connect("bogus"); !errors.Is(err, ErrBadEndpoint) {
		t.Errorf("Connect(bogus): %v, want ErrBadEndpoint", err)
	}
	if s := b.Stats(); s.Published != 0 {
		t.Errorf("published %d after only failed publishes", s.Published)
	}
}

// testStampsFrom: an empty From goes out as the bus's node id.
func testStampsFrom(t *testing.T, newBuses busFactory) {
	buses := newBuses(t, names(2), 0)
	if err := buses[1].Connect(buses[0].Endpoint()); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a stamped message", func() bool {
		if err := buses[0].Publish(t.Context(), Message{Type: TypeLeave, Incarnation: 3}); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-buses[1].Messages():
			return m.From == "n0" && m.Incarnation == 3
		default:
			return false
		}
	})
}
