package rpc

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// slowMux answers GetObject of ref {1} at once and holds every other ref
// until release is closed, as a locate of a ref nobody has waits out its
// timeout.
func slowMux(release <-chan struct{}) *Mux {
	mux := echoMux()
	mux.Handle(OpGetObject, func(ctx context.Context, m *Message) (*Reply, error) {
		var req GetObjectReq
		if err := m.Decode(&req); err != nil {
			return nil, err
		}
		if len(req.Ref) > 0 && req.Ref[0] == 1 {
			return &Reply{Body: &GetObjectRep{}}, nil
		}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil, Errorf(ErrUnavailable, "not found in time")
	})
	mux.Handle(OpInfo, func(ctx context.Context, m *Message) (*Reply, error) {
		return &Reply{Body: &InfoRep{Node: "n1"}}, nil
	})
	return mux
}

// One client keeps 600 slow gets in flight; another client is still served:
// ping, info and a data op. The flooder holds at most MaxPerConn slots and
// its queue; the rest of its requests are refused at once.
func TestOneConnectionCannotTakeEverySlot(t *testing.T) {
	release := make(chan struct{})
	s, zctx := testServer(t, slowMux(release), nil) // defaults: 512 slots, 64 per connection, 256 queued
	flooder := testConn(t, zctx, s.Endpoint())
	var refused, answered atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 600; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := flooder.Call(ctxT(t, time.Minute), OpGetObject, &GetObjectReq{Ref: []byte{2, byte(i)}}, nil)
			if errors.Is(err, ErrUnavailable) {
				refused.Add(1)
			}
			answered.Add(1)
		}()
	}
	waitUntil(t, "the flooder to fill its share", func() bool {
		return s.inflight.Load() == 64 && refused.Load() == 600-64-256
	})
	other := testConn(t, zctx, s.Endpoint())
	for _, op := range []Op{OpPing, OpInfo} {
		if _, err := other.Call(ctxT(t, 10*time.Second), op, &Header{}, nil); err != nil {
			t.Fatalf("%s from another client during the flood: %v", op, err)
		}
	}
	if _, err := other.Call(ctxT(t, 10*time.Second), OpGetObject, &GetObjectReq{Ref: []byte{1}}, nil); err != nil {
		t.Fatalf("get from another client during the flood: %v", err)
	}
	if n := answered.Load(); n != 600-64-256 {
		t.Fatalf("%d flood requests answered while held, want only the %d refused", n, 600-64-256)
	}
	close(release)
	wg.Wait()
	waitUntil(t, "every slot to be released", func() bool { return s.inflight.Load() == 0 })
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
