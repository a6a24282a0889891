package pubsub

import (
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"
)

// BenchmarkCodecWhoHas32: encode and decode one WhoHas of 32 ids, the
// per-message CPU cost both buses pay.
func BenchmarkCodecWhoHas32(b *testing.B) {
	m := Message{Type: TypeWhoHas, From: "n1", ReqID: 1, IDs: testIDs(1, 32), ReplyTo: "tcp://127.0.0.1:7700"}
	frame, _ := Encode(m)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		f, err := Encode(m)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Decode(f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkZMQWhoHas32: WhoHas messages of 32 ids from one bus to another
// over loopback TCP, publish to delivery. The publisher keeps at most
// window messages ahead of the consumer, below every queue and high-water
// mark, so nothing is dropped and the rate is the bus's sustained one.
func BenchmarkZMQWhoHas32(b *testing.B) {
	zctx, err := zmq.NewContext()
	if err != nil {
		b.Fatal(err)
	}
	defer zctx.Term()
	var buses []Bus
	for _, name := range names(2) {
		bus, err := NewZMQ(Config{Context: zctx, NodeID: name, Listen: "tcp://127.0.0.1:*"})
		if err != nil {
			b.Fatal(err)
		}
		defer bus.Close()
		buses = append(buses, bus)
	}
	benchWhoHas(b, buses[0], buses[1])
}

// BenchmarkHubWhoHas32 is the same through the in-memory Hub, for scale.
func BenchmarkHubWhoHas32(b *testing.B) {
	h, err := NewHub(HubOptions{})
	if err != nil {
		b.Fatal(err)
	}
	pub, _ := h.NewBus("n0")
	sub, _ := h.NewBus("n1")
	defer pub.Close()
	defer sub.Close()
	benchWhoHas(b, pub, sub)
}

func benchWhoHas(b *testing.B, pub, sub Bus) {
	const window = 256
	if err := sub.Connect(pub.Endpoint()); err != nil {
		b.Fatal(err)
	}
	warmUp(b, pub, sub)
	m := Message{Type: TypeWhoHas, ReqID: 1, IDs: testIDs(1, 32), ReplyTo: "tcp://127.0.0.1:7700"}
	credit := make(chan struct{}, window) // one slot per message in flight
	done := make(chan struct{})
	b.ResetTimer()
	start := time.Now()
	go func() {
		defer close(done)
		for n := 0; n < b.N; {
			if (<-sub.Messages()).Type == TypeWhoHas { // skip late warm-up probes
				n++
				<-credit
			}
		}
	}()
	for range b.N {
		credit <- struct{}{}
		if err := pub.Publish(b.Context(), m); err != nil {
			b.Fatal(err)
		}
	}
	<-done
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	if s := pub.Stats(); s.SendDropped > 0 {
		b.Fatalf("dropped %d", s.SendDropped)
	}
}

// warmUp publishes probes until the subscriber hears one, then drains.
func warmUp(b *testing.B, pub, sub Bus) {
	deadline := time.Now().Add(waitTimeout)
	for {
		if err := pub.Publish(b.Context(), Message{Type: TypeLeave}); err != nil {
			b.Fatal(err)
		}
		select {
		case <-sub.Messages():
			for len(sub.Messages()) > 0 {
				<-sub.Messages()
			}
			return
		case <-time.After(2 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.Fatal("subscriber never joined")
		}
	}
}
