package mover

import (
	"context"
	"testing"
	"time"
)

// An open mover moves the items added while it runs, does not end while
// none are left until sealed, and ends once sealed with all landed.
func TestOpenMoverTakesItemsUntilSealed(t *testing.T) {
	f := newFakeNet()
	xs := ids(30)
	f.hold("a", xs...)
	p := &testPolicy{cands: tier0("a")}
	m, err := New(Config{Policy: p, Transfer: f.transfer, Open: true}, items(xs[:10], 1))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	m.Add(items(xs[10:20], 1))
	m.Add(items(xs[5:25], 1)) // repeats are moved once
	for !f.moved(25) {
		select {
		case err := <-done:
			t.Fatalf("open mover ended before Seal: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	m.Add(items(xs[25:], 1))
	m.Seal()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := m.Stats(); st.Landed != 30 {
		t.Fatalf("landed %d copies, want 30", st.Landed)
	}
	for _, id := range xs {
		if n := len(f.got[id]); n != 1 {
			t.Fatalf("block %s moved %d times", id.Short(), n)
		}
	}
}

// moved reports whether n distinct blocks have moved.
func (f *fakeNet) moved(n int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.got) >= n
}
