package rpc

import (
	"sync/atomic"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"
)

// TestSleeperLosesNoEdgeOrWake: an owner in sleeper.Run sees every message
// another socket sends it (descriptor edges) and every piece of work other
// goroutines queue with Wake, however the two interleave with its rounds;
// and a round's deadline brings it round again with neither.
func TestSleeperLosesNoEdgeOrWake(t *testing.T) {
	zctx, err := zmq.NewContext()
	if err != nil {
		t.Fatal(err)
	}
	defer zctx.Term()
	a, err := newSocket(zctx, zmq.PAIR)
	if err != nil {
		t.Fatal(err)
	}
	b, err := newSocket(zctx, zmq.PAIR)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := a.Bind("inproc://sleeper-test"); err != nil {
		t.Fatal(err)
	}
	if err := b.Connect("inproc://sleeper-test"); err != nil {
		t.Fatal(err)
	}
	s, err := newSleeper(a)
	if err != nil {
		t.Fatal(err)
	}
	const n = 2000
	work := make(chan int, n)
	var queued atomic.Int64
	go func() { // the second socket's owner
		for i := 0; i < n; i++ {
			if _, err := b.SendBytes([]byte{byte(i)}, 0); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	go func() { // a goroutine with work for the owner
		for i := 0; i < n; i++ {
			work <- i
			queued.Add(1)
			s.Wake()
		}
	}()

	var msgs, items, timed int
	var deadline time.Time
	done := make(chan error, 1)
	go func() {
		defer a.Close()
		defer s.close()
		done <- s.Run(func() (time.Time, bool) {
			for more := true; more; {
				select {
				case <-work:
					items++
				default:
					more = false
				}
			}
			for {
				if _, err := a.RecvBytes(zmq.DONTWAIT); err != nil {
					break // EAGAIN: every queued command processed
				}
				msgs++
			}
			switch {
			case msgs == n && items == n && timed == 0:
				if deadline.IsZero() {
					deadline = time.Now().Add(5 * time.Millisecond)
				} else if !time.Now().Before(deadline) {
					timed++ // came round on the deadline alone
				}
				return deadline, false
			case msgs == n && items == n:
				return time.Time{}, true
			}
			return time.Time{}, false
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second): // a hang guard, not a speed limit
		t.Fatalf("owner stuck (%d of %d items queued)", queued.Load(), n)
	}
}
