package client_test

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/internal/testdata"
)

// Close while a streamed get, puts and stats are in flight: nothing panics
// or races (run with -race), everything in flight ends with nil or
// ErrClientClosed, Close returns, and every call after it fails with
// ErrClientClosed.
func TestCloseWithCallsInFlight(t *testing.T) {
	n := nodetest.Start(t, nil)
	ctx := nodetest.Context(t, 2*time.Minute)
	seed := nodetest.Client(t, n)
	ref, err := seed.PutBytes(ctx, testdata.Bytes(7, 24<<20), client.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 4; round++ {
		c, err := client.Dial(ctx, n.Endpoint(), &client.Options{NoShm: true, Window: 4})
		if err != nil {
			t.Fatal(err)
		}
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			errs   []error
			blocks atomic.Int64 // bytes read by the streamed gets
		)
		keep := func(err error) {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
		loop := func(f func() error) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					if err := f(); err != nil {
						keep(err)
						return
					}
				}
			}()
		}
		loop(func() error { // a streamed get, again and again
			r, err := c.Get(ctx, ref)
			if err != nil {
				return err
			}
			defer r.Close()
			_, err = io.Copy(writerFunc(func(p []byte) { blocks.Add(int64(len(p))) }), r)
			return err
		})
		held, err := c.Get(ctx, ref) // a reader left open, its launcher waiting for room
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			seedI := uint64(100*round + i)
			loop(func() error {
				seedI += 1000
				_, err := c.PutBytes(ctx, testdata.Bytes(seedI, 3<<20+1), client.PutOptions{})
				return err
			})
		}
		loop(func() error { _, err := c.Stat(ctx, ref); return err })
		nodetest.WaitFor(t, time.Minute, "the get to stream some blocks", func() bool { return blocks.Load() > 2<<20 })
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		for _, err := range errs {
			if !errors.Is(err, client.ErrClientClosed) {
				t.Errorf("round %d: a call in flight at Close ended with %v, want ErrClientClosed", round, err)
			}
		}
		if _, err := io.Copy(io.Discard, held); !errors.Is(err, client.ErrClientClosed) {
			t.Errorf("reading a reader opened before Close: %v", err)
		}
		held.Close()
		if _, err := c.Stat(ctx, ref); !errors.Is(err, client.ErrClientClosed) {
			t.Errorf("Stat after Close: %v", err)
		}
		if _, err := c.Get(ctx, ref); !errors.Is(err, client.ErrClientClosed) {
			t.Errorf("Get after Close: %v", err)
		}
		if _, err := c.Put(ctx, bytes.NewReader([]byte("x")), client.PutOptions{}); !errors.Is(err, client.ErrClientClosed) {
			t.Errorf("Put after Close: %v", err)
		}
		if err := c.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	}
}

// Close from many goroutines at once, with calls starting meanwhile.
func TestCloseConcurrently(t *testing.T) {
	n := nodetest.Start(t, nil)
	ctx := nodetest.Context(t, time.Minute)
	c, err := client.Dial(ctx, n.Endpoint(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(2)
		go func() { defer wg.Done(); c.Close() }()
		go func() {
			defer wg.Done()
			if _, err := c.PutBytes(ctx, []byte("y"), client.PutOptions{}); err != nil && !errors.Is(err, client.ErrClientClosed) {
				t.Errorf("put racing Close: %v", err)
			}
		}()
	}
	wg.Wait()
}

type writerFunc func([]byte)

func (f writerFunc) Write(p []byte) (int, error) { f(p); return len(p), nil }
