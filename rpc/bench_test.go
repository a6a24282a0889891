package rpc

import (
	"context"
	"sync"
	"testing"
)

// BenchmarkPing: one request at a time, round-trip latency.
func BenchmarkPing(b *testing.B) {
	s, zctx := benchServer(b)
	c, _ := Dial(ConnConfig{Context: zctx, Endpoint: s.Endpoint()})
	defer c.Close()
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Call(ctx, OpPing, &PingReq{}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBlockReplies: small requests answered with 1 MiB frames, a window
// of 8 in flight (how a get pulls blocks).
func BenchmarkBlockReplies(b *testing.B) {
	block := make([]byte, 1<<20)
	mux := NewMux()
	mux.Handle(OpGetObject, func(ctx context.Context, m *Message) (*Reply, error) {
		return &Reply{Body: &GetObjectRep{Count: 1}, Data: [][]byte{block}}, nil
	})
	s, zctx := benchServerMux(b, mux)
	c, _ := Dial(ConnConfig{Context: zctx, Endpoint: s.Endpoint()})
	defer c.Close()
	b.SetBytes(1 << 20)
	b.ResetTimer()
	window(b, 8, func() error {
		_, err := c.Call(context.Background(), OpGetObject, &GetObjectReq{}, nil)
		return err
	})
}

// BenchmarkBlockRequests: 1 MiB requests answered with a small reply (how a
// put pushes blocks).
func BenchmarkBlockRequests(b *testing.B) {
	block := make([]byte, 1<<20)
	mux := NewMux()
	mux.Handle(OpPutData, func(ctx context.Context, m *Message) (*Reply, error) { return nil, nil })
	s, zctx := benchServerMux(b, mux)
	c, _ := Dial(ConnConfig{Context: zctx, Endpoint: s.Endpoint()})
	defer c.Close()
	b.SetBytes(1 << 20)
	b.ResetTimer()
	window(b, 8, func() error {
		_, err := c.Call(context.Background(), OpPutData, &PutDataReq{}, [][]byte{block})
		return err
	})
}

func window(b *testing.B, k int, f func() error) {
	var wg sync.WaitGroup
	work := make(chan struct{}, b.N)
	for i := 0; i < b.N; i++ {
		work <- struct{}{}
	}
	close(work)
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
