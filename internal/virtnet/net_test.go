package virtnet

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/pubsub"
	"github.com/emerge-dev/emerge/rpc"
)

func echo() rpc.Handler {
	m := rpc.NewMux()
	m.Handle(rpc.OpPing, func(ctx context.Context, req *rpc.Message) (*rpc.Reply, error) {
		return &rpc.Reply{Body: &rpc.PingRep{Node: "b"}, Data: req.Data}, nil
	})
	return m
}

func pair(t *testing.T, cfg Config) (*Net, *Host, *Host) {
	t.Helper()
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, err := n.Attach("a", rpc.NewMux())
	if err != nil {
		t.Fatal(err)
	}
	b, err := n.Attach("b", echo())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return n, a, b
}

func TestCallThroughTheCodecs(t *testing.T) {
	_, a, b := pair(t, Config{Limits: rpc.Limits{MaxFrame: 1 << 10}})
	ctx := context.Background()
	m, err := a.Call(ctx, b.Endpoint(), rpc.OpPing, &rpc.PingReq{}, [][]byte{[]byte("hi")})
	if err != nil {
		t.Fatal(err)
	}
	var rep rpc.PingRep
	if err := m.Decode(&rep); err != nil || rep.Node != "b" || string(m.Data[0]) != "hi" {
		t.Fatalf("reply %+v %q: %v", rep, m.Data, err)
	}
	// Caps apply as on a socket: a frame over MaxFrame is refused.
	_, err = a.Call(ctx, b.Endpoint(), rpc.OpPing, &rpc.PingReq{}, [][]byte{make([]byte, 2<<10)})
	if !errors.Is(err, rpc.ErrTooLarge) {
		t.Fatalf("oversized frame: %v", err)
	}
	if _, err := a.Call(ctx, b.Endpoint(), rpc.OpStat, &rpc.RefReq{}, nil); !errors.Is(err, rpc.ErrUnsupported) {
		t.Fatalf("unknown op: %v", err)
	}
}

func TestKilledHostIsUnreachable(t *testing.T) {
	_, a, b := pair(t, Config{})
	b.Close()
	_, err := a.Call(context.Background(), b.Endpoint(), rpc.OpPing, &rpc.PingReq{}, nil)
	if !errors.Is(err, rpc.ErrUnreachable) {
		t.Fatalf("call to a killed host: %v", err)
	}
}

func TestFrozenHostHoldsRequestsUntilThawed(t *testing.T) {
	n, a, b := pair(t, Config{})
	n.Freeze("b")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := a.Call(ctx, b.Endpoint(), rpc.OpPing, &rpc.PingReq{}, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("call to a frozen host: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := a.Call(context.Background(), b.Endpoint(), rpc.OpPing, &rpc.PingReq{}, nil)
		done <- err
	}()
	n.Thaw("b")
	if err := <-done; err != nil {
		t.Fatalf("call after thaw: %v", err)
	}
}

func TestPartitionCutsRPCAndBus(t *testing.T) {
	n, a, b := pair(t, Config{})
	if err := pubsub.Mesh(a.Bus(), b.Bus()); err != nil {
		t.Fatal(err)
	}
	n.Partition([]string{"a"}, []string{"b"})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := a.Call(ctx, b.Endpoint(), rpc.OpPing, &rpc.PingReq{}, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("call across a partition: %v", err)
	}
	pub := func(inc uint64) {
		m := pubsub.Message{Type: pubsub.TypeLeave, Incarnation: inc}
		if err := a.Bus().Publish(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	pub(1)
	n.Heal()
	pub(2)
	m := <-b.Bus().Messages()
	if m.Incarnation != 2 {
		t.Fatalf("the message sent across the partition arrived: %+v", m)
	}
}

func TestBandwidthQueuesOnALink(t *testing.T) {
	n, _, _ := pair(t, Config{Link: Link{Bandwidth: 1 << 20}})
	first := n.arrival("a", "b", 1<<20)
	second := n.arrival("a", "b", 1<<20)
	if d := second.Sub(first); d < 900*time.Millisecond || d > 1100*time.Millisecond {
		t.Fatalf("second MiB arrives %s after the first at 1 MiB/s", d)
	}
	if back := n.arrival("b", "a", 1<<20); back.After(second) {
		t.Fatal("the other direction queued behind this one")
	}
}
