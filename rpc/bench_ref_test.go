package rpc

import (
	"slices"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"
)

// Same-run references for the rpc benchmarks: what bare pebbe/zmq4 sockets
// do over loopback TCP in this process, measured right before the rpc figure
// so both see the same machine load.

// refMinOps keeps a reference measurement long enough to mean something when
// the testing package probes with a small b.N.
const refMinOps = 200

// refReqRep returns the mean round trip, in ns, of n 16-byte echoes between a
// REQ and a REP socket, each on its own goroutine, and their median.
func refReqRep(b *testing.B, n int) (mean float64, p50 time.Duration) {
	n = max(n, refMinOps)
	zctx, rep, req := refPair(b, zmq.REP, zmq.REQ, 0)
	defer zctx.Term()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer rep.Close()
		for {
			m, err := rep.RecvBytes(0)
			if err != nil || len(m) == 0 { // an empty message says stop
				return
			}
			if _, err := rep.SendBytes(m, 0); err != nil {
				return
			}
		}
	}()
	defer func() { req.SendBytes(nil, 0); <-done; req.Close() }()
	msg := make([]byte, 16)
	round := func() {
		if _, err := req.SendBytes(msg, 0); err != nil {
			b.Fatal(err)
		}
		if _, err := req.RecvBytes(0); err != nil {
			b.Fatal(err)
		}
	}
	round() // connect
	lat := make([]time.Duration, n)
	start := time.Now()
	for i := 0; i < n; i++ {
		t := time.Now()
		round()
		lat[i] = time.Since(t)
	}
	mean = float64(time.Since(start).Nanoseconds()) / float64(n)
	return mean, median(lat)
}

// median sorts d and returns its middle value.
func median(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}

// refStream returns the mean time, in ns, per message of n request/reply
// exchanges between a DEALER and a ROUTER with window requests in flight.
// The big frame (size bytes) travels in the reply when bigReply, else in the
// request; the other direction carries 16 bytes.
func refStream(b *testing.B, n, window, size int, bigReply bool) float64 {
	return refStreamH(b, n, window, size, bigReply, 16)
}

func refStreamH(b *testing.B, n, window, size int, bigReply bool, hwm int) float64 {
	n = max(n, refMinOps/10)
	zctx, router, dealer := refPair(b, zmq.ROUTER, zmq.DEALER, hwm)
	defer zctx.Term()
	router.SetRouterMandatory(1) // block on a full pipe instead of dropping
	big, small := make([]byte, size), make([]byte, 16)
	ask, answer := small, big
	if !bigReply {
		ask, answer = big, small
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer router.Close()
		for {
			m, err := router.RecvMessageBytes(0)
			if err != nil || len(m) != 2 || len(m[1]) == 0 { // an empty request says stop
				return
			}
			if _, err := router.SendMessage(m[0], answer); err != nil {
				return
			}
		}
	}()
	defer func() { dealer.SendBytes(nil, 0); <-done; dealer.Close() }()
	send := func() {
		if _, err := dealer.SendBytes(ask, 0); err != nil {
			b.Fatal(err)
		}
	}
	recv := func() {
		if _, err := dealer.RecvBytes(0); err != nil {
			b.Fatal(err)
		}
	}
	send() // connect
	recv()
	start := time.Now()
	for i := 0; i < window && i < n; i++ {
		send()
	}
	for i := 0; i < n; i++ {
		recv()
		if i+window < n {
			send()
		}
	}
	return float64(time.Since(start).Nanoseconds()) / float64(n)
}

// refPair binds server and connects client over loopback TCP in a fresh
// context; hwm, when positive, sets both high-water marks on both sockets.
func refPair(b *testing.B, st, ct zmq.Type, hwm int) (*zmq.Context, *zmq.Socket, *zmq.Socket) {
	zctx, err := zmq.NewContext()
	if err != nil {
		b.Fatal(err)
	}
	srv, err := zctx.NewSocket(st)
	if err != nil {
		b.Fatal(err)
	}
	cli, err := zctx.NewSocket(ct)
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range []*zmq.Socket{srv, cli} {
		s.SetLinger(0)
		if hwm > 0 {
			s.SetSndhwm(hwm)
			s.SetRcvhwm(hwm)
		}
	}
	if err := srv.Bind("tcp://127.0.0.1:*"); err != nil {
		b.Fatal(err)
	}
	ep, _ := srv.GetLastEndpoint()
	if err := cli.Connect(ep); err != nil {
		b.Fatal(err)
	}
	return zctx, srv, cli
}
