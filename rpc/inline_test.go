package rpc

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// callStack is the stack of the calling goroutine.
func callStack() string {
	buf := make([]byte, 16<<10)
	return string(buf[:runtime.Stack(buf, false)])
}

// TestInlineHandlerRunsOnOwner: a handler registered with HandleInline runs
// on the server's socket owner goroutine, the others on workers; replies,
// counters and admission slots are the same for both.
func TestInlineHandlerRunsOnOwner(t *testing.T) {
	var mu sync.Mutex
	where := map[Op]string{}
	record := func(ctx context.Context, m *Message) (*Reply, error) {
		mu.Lock()
		where[m.Op] = callStack()
		mu.Unlock()
		return &Reply{Body: &PingRep{Node: m.Op.String()}, Data: m.Data}, nil
	}
	mux := NewMux()
	mux.HandleInline(OpStat, record)
	mux.Handle(OpGetObject, record)
	s, zctx := testServer(t, mux, nil)
	c := testConn(t, zctx, s.Endpoint())
	ctx := ctxT(t, 10*time.Second)

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 32; i++ {
		op := []Op{OpStat, OpGetObject}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := c.Call(ctx, op, &PingReq{}, [][]byte{[]byte("x")})
			var rep PingRep
			if err == nil {
				err = m.Decode(&rep)
			}
			if err == nil && (rep.Node != op.String() || len(m.Data) != 1 || string(m.Data[0]) != "x") {
				t.Errorf("%s: reply %+v with %d frames", op, rep, len(m.Data))
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if st := where[OpStat]; !strings.Contains(st, "(*Server).loop") || strings.Contains(st, "(*Server).worker") {
		t.Errorf("inline handler not on the owner goroutine:\n%s", st)
	}
	if st := where[OpGetObject]; !strings.Contains(st, "(*Server).worker") {
		t.Errorf("handler not on a worker:\n%s", st)
	}
	// The owner counts a reply and frees its slot just after the socket took
	// it: the client may have it first.
	waitUntil(t, "32 requests and replies counted, slots released", func() bool {
		st := s.Stats()
		return st.Requests == 32 && st.Replies == 32 && s.inflight.Load() == 0
	})
}
