package rpc

import (
	"context"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BenchmarkPing: one request at a time, round-trip latency. x-reqrep is the
// time per call over that of a bare REQ/REP echo measured in the same run.
func BenchmarkPing(b *testing.B) { benchPing(b, echoMux()) }

// BenchmarkPingInline: BenchmarkPing with the ping handler registered
// inline (served on the server's socket owner goroutine).
func BenchmarkPingInline(b *testing.B) {
	mux := echoMux()
	mux.HandleInline(OpPing, mux.handlers[OpPing])
	benchPing(b, mux)
}

func benchPing(b *testing.B, mux *Mux) {
	ref, refP50 := refReqRep(b, b.N)
	s, zctx := benchServerMux(b, mux)
	c, _ := Dial(ConnConfig{Context: zctx, Endpoint: s.Endpoint()})
	defer c.Close()
	ctx := context.Background()
	if _, err := c.Call(ctx, OpPing, &PingReq{}, nil); err != nil { // connect
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	cpu, cs := cpuTime(b), switches(b)
	for i := 0; i < b.N; i++ {
		t := time.Now()
		if _, err := c.Call(ctx, OpPing, &PingReq{}, nil); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t))
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime(b)-cpu).Nanoseconds())/1e3/float64(b.N), "cpu-us/op")
	b.ReportMetric(float64(switches(b)-cs)/float64(b.N), "cs/op")
	p50 := median(lat)
	b.ReportMetric(float64(p50.Nanoseconds())/1e3, "p50-us")
	b.ReportMetric(float64(refP50.Nanoseconds())/1e3, "ref-p50-us")
	b.ReportMetric(float64(p50)/float64(refP50), "x-reqrep-p50")
	reportVsRef(b, ref, "x-reqrep", false)
}

// switches counts the context switches, voluntary or not, of every thread
// of the process so far (libzmq's I/O threads included): each is a thread
// that slept and was woken, or was preempted.
func switches(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Nvcsw + ru.Nivcsw
}

// reportVsRef reports the reference and the rpc figure relative to it: a
// time ratio (rpc/ref, lower is better) or, for throughput, the fraction of
// the reference's rate (ref/rpc time, higher is better).
func reportVsRef(b *testing.B, refNs float64, unit string, throughput bool) {
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(refNs, "ref-ns/op")
	if throughput {
		b.ReportMetric(refNs/ns, unit)
	} else {
		b.ReportMetric(ns/refNs, unit)
	}
}

// BenchmarkBlockReplies: small requests answered with 1 MiB frames, a window
// of 8 in flight (how a get pulls blocks). of-raw is the throughput as a
// fraction of a raw DEALER/ROUTER stream with the same window in the same run.
func BenchmarkBlockReplies(b *testing.B) {
	ref := refStream(b, b.N, 8, 1<<20, true)
	block := make([]byte, 1<<20)
	mux := NewMux()
	mux.Handle(OpGetObject, func(ctx context.Context, m *Message) (*Reply, error) {
		return &Reply{Body: &GetObjectRep{Count: 1}, Data: [][]byte{block}}, nil
	})
	s, zctx := benchServerMux(b, mux)
	c, _ := Dial(ConnConfig{Context: zctx, Endpoint: s.Endpoint()})
	defer c.Close()
	b.SetBytes(1 << 20)
	window(b, 8, func() error {
		_, err := c.Call(context.Background(), OpGetObject, &GetObjectReq{}, nil)
		return err
	})
	reportVsRef(b, ref, "of-raw", true)
}

// BenchmarkBlockRequests: 1 MiB requests answered with a small reply (how a
// put pushes blocks). of-raw as in BenchmarkBlockReplies.
func BenchmarkBlockRequests(b *testing.B) {
	ref := refStream(b, b.N, 8, 1<<20, false)
	block := make([]byte, 1<<20)
	mux := NewMux()
	mux.Handle(OpPutData, func(ctx context.Context, m *Message) (*Reply, error) { return nil, nil })
	s, zctx := benchServerMux(b, mux)
	c, _ := Dial(ConnConfig{Context: zctx, Endpoint: s.Endpoint()})
	defer c.Close()
	b.SetBytes(1 << 20)
	window(b, 8, func() error {
		_, err := c.Call(context.Background(), OpPutData, &PutDataReq{}, [][]byte{block})
		return err
	})
	reportVsRef(b, ref, "of-raw", true)
}

// window runs f b.N times from k goroutines, timing only that: one call
// before the timer starts makes the connection.
func window(b *testing.B, k int, f func() error) {
	if err := f(); err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	work := make(chan struct{}, b.N)
	for i := 0; i < b.N; i++ {
		work <- struct{}{}
	}
	close(work)
	b.ResetTimer()
	defer b.StopTimer()
	for g := 0; g < k; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				if err := f(); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func benchServer(b *testing.B) (*Server, *zmqContext) { return benchServerMux(b, echoMux()) }
