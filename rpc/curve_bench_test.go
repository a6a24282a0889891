package rpc

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/internal/curve"
	zmq "github.com/pebbe/zmq4"
	"github.com/rs/zerolog"
)

// BenchmarkCurveBlockReplies: 1 MiB replies, 8 (or 16) requests in flight
// per connection, plaintext against CURVE in the same run, over 1 to 4
// connections from a client context to a server context (as two processes
// have). io=2 gives both contexts two I/O threads: libzmq encrypts and
// decrypts a connection's traffic on the I/O thread it belongs to, so
// several connections can use several cores only with several threads.
func BenchmarkCurveBlockReplies(b *testing.B) {
	cl, _ := curve.Derive([]byte("benchmark cluster secret"))
	for _, mode := range []string{"plain", "curve"} {
		for _, c := range []struct{ io, conns, window int }{
			{1, 1, 8}, {1, 1, 16}, {1, 2, 8}, {1, 4, 8}, {2, 2, 8}, {2, 4, 8},
		} {
			name := fmt.Sprintf("mode=%s/io=%d/conns=%d/window=%d", mode, c.io, c.conns, c.window)
			b.Run(name, func(b *testing.B) { benchCurveBlocks(b, mode == "curve", cl, c.io, c.conns, c.window) })
		}
	}
}

// benchCurveBlocks keeps inFlight requests in flight on each of conns
// connections.
func benchCurveBlocks(b *testing.B, secure bool, cl curve.Cluster, ioThreads, conns, inFlight int) {
	block := make([]byte, 1<<20)
	mux := echoMux()
	mux.Handle(OpGetObject, func(ctx context.Context, m *Message) (*Reply, error) {
		return &Reply{Body: &GetObjectRep{Count: 1}, Data: [][]byte{block}}, nil
	})
	srvCtx, cliCtx := benchContext(b, ioThreads), benchContext(b, ioThreads)
	cfg := ServerConfig{Context: srvCtx, Listen: "tcp://127.0.0.1:*", Handler: mux}
	var client *curve.Client
	if secure {
		allow := curve.NewAllowlist(cl.Member.Public)
		zap, err := curve.NewZAP(srvCtx, allow, zerolog.Nop())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { zap.Close() })
		cfg.Curve = &curve.Server{Keys: cl.Server, Allow: allow}
		client = &curve.Client{ServerKey: cl.Server.Public, Keys: cl.Member}
	}
	s, err := NewServer(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	cs := make([]*Conn, conns)
	for i := range cs {
		if cs[i], err = Dial(ConnConfig{Context: cliCtx, Endpoint: s.Endpoint(), Curve: client}); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { cs[i].Close() })
		if _, err := cs[i].Call(context.Background(), OpPing, &PingReq{}, nil); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Uint64
	b.SetBytes(1 << 20)
	cpu0 := cpuTime(b)
	window(b, inFlight*conns, func() error {
		c := cs[next.Add(1)%uint64(conns)]
		_, err := c.Call(context.Background(), OpGetObject, &GetObjectReq{}, nil)
		return err
	})
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N<<20), "cpu-ns/B")
}

// cpuTime is the CPU time (user and system) of the process: both ends of
// every connection, which other work on the machine disturbs less than it
// does the rates.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchContext is a ZeroMQ context with n I/O threads, terminated at cleanup
// (after the sockets, which earlier cleanups close).
func benchContext(b *testing.B, n int) *zmq.Context {
	zctx, err := zmq.NewContext()
	if err != nil {
		b.Fatal(err)
	}
	if err := zctx.SetIoThreads(n); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { zctx.Term() })
	return zctx
}
