package pubsub

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
)

// waitTimeout bounds every wait in these tests; conditions are polled, and a
// test fails only if a condition is still false when it expires.
const waitTimeout = 15 * time.Second

// eventually polls cond until it holds, failing the test after waitTimeout.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// collector drains one bus's Messages into a list that tests poll.
type collector struct {
	mu   sync.Mutex
	msgs []Message
	done chan struct{} // closed when Messages is closed
}

func collect(b Bus) *collector {
	c := &collector{done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for m := range b.Messages() {
			c.mu.Lock()
			c.msgs = append(c.msgs, m)
			c.mu.Unlock()
		}
	}()
	return c
}

func (c *collector) count(pred func(Message) bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, m := range c.msgs {
		if pred(m) {
			n++
		}
	}
	return n
}

func (c *collector) has(pred func(Message) bool) bool { return c.count(pred) > 0 }

func from(name string) func(Message) bool {
	return func(m Message) bool { return m.From == name }
}

// names returns n0 … n(n-1).
func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("n%d", i)
	}
	return out
}

// awaitMesh beats the slow-joiner problem: every bus publishes a probe
// heartbeat, again and again, until every collector has heard every other
// bus. Buses are named by names(len(buses)).
func awaitMesh(t testing.TB, buses []Bus, cols []*collector) {
	t.Helper()
	ids := names(len(buses))
	eventually(t, "every bus to hear every other bus", func() bool {
		for i, b := range buses {
			probe := Message{Type: TypeHeartbeat, From: ids[i], RPC: "tcp://x:1", Pub: b.Endpoint()}
			if err := b.Publish(t.Context(), probe); err != nil {
				t.Fatalf("probe: %v", err)
			}
		}
		for i, c := range cols {
			for j := range buses {
				if i != j && !c.has(from(ids[j])) {
					return false
				}
			}
		}
		return true
	})
}

// checkNoLeak fails the test if, after every cleanup registered later has
// run, the goroutine count does not come back to what it is now. Register it
// before anything that starts goroutines.
func checkNoLeak(t *testing.T) {
	base := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(waitTimeout)
		for runtime.NumGoroutine() > base {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Fatalf("goroutines: %d, baseline %d\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
			}
			runtime.Gosched()
			time.Sleep(time.Millisecond) // polling interval, not a settle delay
		}
	})
}

// testIDs returns n distinct block ids derived from seed.
func testIDs(seed, n int) []blocks.ID {
	ids := make([]blocks.ID, n)
	for i := range ids {
		ids[i] = blocks.Sum([]byte(fmt.Sprintf("block %d/%d", seed, i)))
	}
	return ids
}

func testRef(seed int) blocks.Ref {
	return blocks.Ref(blocks.Sum([]byte(fmt.Sprintf("object %d", seed))))
}

// recv returns the next message of b, failing the test after waitTimeout.
func recv(t testing.TB, b Bus) Message {
	t.Helper()
	select {
	case m, ok := <-b.Messages():
		if !ok {
			t.Fatal("Messages closed")
		}
		return m
	case <-time.After(waitTimeout):
		t.Fatal("timed out waiting for a message")
	}
	return Message{}
}
