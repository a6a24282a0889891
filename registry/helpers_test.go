package registry

import (
	"sync"
	"testing"
	"time"
)

// fakeClock is a controllable Config.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock forward and returns the new time.
func (c *fakeClock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// mem builds a member record with endpoints derived from id.
func mem(id string, inc uint64, groups ...string) Member {
	return Member{ID: id, RPC: "tcp://" + id + ":7700", Pub: "tcp://" + id + ":7701",
		Host: "host-" + id, Groups: groups, Incarnation: inc}
}

func left(m Member) Member {
	m.Left = true
	return m
}

// newReg returns a registry for self id on clk; opts adjust the config.
func newReg(t testing.TB, id string, clk *fakeClock, opts ...func(*Config)) *Registry {
	t.Helper()
	cfg := Config{Self: mem(id, 1), Now: clk.Now}
	for _, o := range opts {
		o(&cfg)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

// kinds lists the kinds of events.
func kinds(evs []Event) []EventKind {
	var out []EventKind
	for _, e := range evs {
		out = append(out, e.Kind)
	}
	return out
}

// lastSeq is the Seq of the newest kept event, or 0.
func lastSeq(r *Registry) uint64 {
	evs := r.Events(0)
	if len(evs) == 0 {
		return 0
	}
	return evs[len(evs)-1].Seq
}

func ids(ms []Member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}
