package rpc

import (
	"bytes"
	"context"
	"errors"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	zmq "github.com/pebbe/zmq4"
)

// testServer starts a server on an ephemeral port with a mux the test fills.
func testServer(t *testing.T, mux *Mux, mod func(*ServerConfig)) (*Server, *zmq.Context) {
	t.Helper()
	zctx, err := zmq.NewContext()
	if err != nil {
		t.Fatal(err)
	}
	cfg := ServerConfig{Context: zctx, Listen: "tcp://127.0.0.1:*", Handler: mux}
	if mod != nil {
		mod(&cfg)
	}
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		zctx.Term()
	})
	return s, zctx
}

func testConn(t *testing.T, zctx *zmq.Context, endpoint string) *Conn {
	t.Helper()
	c, err := Dial(ConnConfig{Context: zctx, Endpoint: endpoint})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func echoMux() *Mux {
	mux := NewMux()
	mux.Handle(OpPing, func(ctx context.Context, m *Message) (*Reply, error) {
		return &Reply{Body: &PingRep{Node: "n1", Host: "h1"}}, nil
	})
	mux.Handle(OpPutObject, func(ctx context.Context, m *Message) (*Reply, error) {
		var req PutObjectReq
		if err := m.Decode(&req); err != nil {
			return nil, err
		}
		return &Reply{Body: &PutRep{Size: int64(len(m.Data)), Blocks: req.BlockSize}, Data: m.Data}, nil
	})
	mux.Handle(OpStat, func(ctx context.Context, m *Message) (*Reply, error) {
		return nil, blocks.ErrNotFound
	})
	return mux
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestCallRoundTrip(t *testing.T) {
	s, zctx := testServer(t, echoMux(), nil)
	c := testConn(t, zctx, s.Endpoint())
	ctx := ctxT(t, 5*time.Second)

	m, err := c.Call(ctx, OpPing, &PingReq{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var rep PingRep
	if err := m.Decode(&rep); err != nil || rep.Node != "n1" || rep.Host != "h1" {
		t.Fatalf("ping reply %+v err %v", rep, err)
	}
	data := [][]byte{[]byte("a"), {}, bytes.Repeat([]byte{7}, 1<<20)}
	m, err = c.Call(ctx, OpPutObject, &PutObjectReq{PutParams: PutParams{BlockSize: 42, Meta: Meta{"k": "v"}}}, data)
	if err != nil {
		t.Fatal(err)
	}
	var prep PutRep
	if err := m.Decode(&prep); err != nil || prep.Blocks != 42 || prep.Size != 3 {
		t.Fatalf("put reply %+v err %v", prep, err)
	}
	if len(m.Data) != 3 || !bytes.Equal(m.Data[2], data[2]) || len(m.Data[1]) != 0 {
		t.Fatalf("data frames not echoed intact")
	}
}

func TestStatusErrorsMatchSentinels(t *testing.T) {
	s, zctx := testServer(t, echoMux(), nil)
	c := testConn(t, zctx, s.Endpoint())
	_, err := c.Call(ctxT(t, 5*time.Second), OpStat, &RefReq{Ref: make([]byte, 32)}, nil)
	if !errors.Is(err, blocks.ErrNotFound) {
		t.Fatalf("want not found, got %v", err)
	}
	_, err = c.Call(ctxT(t, 5*time.Second), Op(200), &Header{}, nil)
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("want unsupported, got %v", err)
	}
}

// A slow request must not hold up others on the same or other connections.
func TestSlowRequestDoesNotBlockOthers(t *testing.T) {
	release := make(chan struct{})
	mux := echoMux()
	mux.Handle(OpList, func(ctx context.Context, m *Message) (*Reply, error) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return &Reply{Body: &ListRep{}}, nil
	})
	s, zctx := testServer(t, mux, nil)
	c := testConn(t, zctx, s.Endpoint())
	slow := make(chan error, 1)
	go func() {
		_, err := c.Call(ctxT(t, 10*time.Second), OpList, &ListReq{}, nil)
		slow <- err
	}()
	for i := 0; i < 20; i++ {
		if _, err := c.Call(ctxT(t, 5*time.Second), OpPing, &PingReq{}, nil); err != nil {
			t.Fatalf("ping %d while a slow request runs: %v", i, err)
		}
	}
	select {
	case err := <-slow:
		t.Fatalf("slow request finished early: %v", err)
	default:
	}
	close(release)
	if err := <-slow; err != nil {
		t.Fatal(err)
	}
}

func TestManyCallsInFlight(t *testing.T) {
	s, zctx := testServer(t, echoMux(), nil)
	c := testConn(t, zctx, s.Endpoint())
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				payload := []byte{byte(g), byte(i)}
				m, err := c.Call(ctxT(t, 10*time.Second), OpPutObject, &PutObjectReq{}, [][]byte{payload})
				if err == nil && !bytes.Equal(m.Data[0], payload) {
					err = errors.New("reply matched to the wrong request")
				}
				if err != nil {
					errs <- err
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// A full server answers data ops "unavailable" at once, and still serves
// control ops from its reserved slot.
func TestBusyServerAnswersUnavailable(t *testing.T) {
	release := make(chan struct{})
	mux := echoMux()
	mux.Handle(OpList, func(ctx context.Context, m *Message) (*Reply, error) {
		<-release
		return &Reply{Body: &ListRep{}}, nil
	})
	s, zctx := testServer(t, mux, func(c *ServerConfig) { c.MaxInflight, c.MaxQueued = 2, -1 })
	c := testConn(t, zctx, s.Endpoint())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); c.Call(ctxT(t, 10*time.Second), OpList, &ListReq{}, nil) }()
	deadline := time.Now().Add(5 * time.Second)
	for s.inflight.Load() < 1 && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	_, err := c.Call(ctxT(t, 5*time.Second), OpList, &ListReq{}, nil)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("want unavailable while full, got %v", err)
	}
	if _, err := c.Call(ctxT(t, 5*time.Second), OpPing, &PingReq{}, nil); err != nil {
		t.Fatalf("ping from the reserved slot while full: %v", err)
	}
	close(release)
	wg.Wait()
	if _, err := c.Call(ctxT(t, 5*time.Second), OpList, &ListReq{}, nil); err != nil {
		t.Fatalf("after drain: %v", err)
	}
}

func TestCallDeadlineNamesEndpoint(t *testing.T) {
	zctx, _ := zmq.NewContext()
	t.Cleanup(func() { zctx.Term() })
	// A listener that accepts and never speaks: connected, never answering.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { conn.Close() })
		}
	}()
	ep := "tcp://" + ln.Addr().String()
	c := testConn(t, zctx, ep)
	start := time.Now()
	_, err = c.Call(ctxT(t, 300*time.Millisecond), OpPing, &PingReq{}, nil)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), ep) {
		t.Fatalf("want deadline error naming the endpoint, got %v", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Fatalf("call outlived its deadline by far: %v", time.Since(start))
	}
}

// A refused connect fails the call as unreachable instead of waiting out its
// deadline.
func TestRefusedConnectFailsCall(t *testing.T) {
	zctx, _ := zmq.NewContext()
	t.Cleanup(func() { zctx.Term() })
	c := testConn(t, zctx, "tcp://127.0.0.1:1") // nothing listens on port 1
	for i := 0; i < 3; i++ {                    // also after the first attempt failed
		_, err := c.Call(ctxT(t, time.Minute), OpPing, &PingReq{}, nil)
		if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "127.0.0.1:1") {
			t.Fatalf("call %d: want unreachable naming the endpoint, got %v", i, err)
		}
	}
}

// A server that starts after the client dialled is reached: the refusals
// before it did not break the connection.
func TestConnectAfterRefusals(t *testing.T) {
	zctx, _ := zmq.NewContext()
	t.Cleanup(func() { zctx.Term() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ep := "tcp://" + ln.Addr().String()
	ln.Close()
	c := testConn(t, zctx, ep)
	if _, err := c.Call(ctxT(t, time.Minute), OpPing, &PingReq{}, nil); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("want unreachable before the server runs, got %v", err)
	}
	s, err := NewServer(ServerConfig{Context: zctx, Listen: ep, Handler: echoMux()})
	if err != nil {
		t.Skipf("port taken meanwhile: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	waitFor(t, 10*time.Second, func() bool {
		_, err := c.Call(ctxT(t, 5*time.Second), OpPing, &PingReq{}, nil)
		return err == nil
	})
}

// When the server goes away, calls in flight fail at once instead of waiting
// out their deadline.
func TestDisconnectFailsCallsInFlight(t *testing.T) {
	block := make(chan struct{})
	mux := echoMux()
	mux.Handle(OpList, func(ctx context.Context, m *Message) (*Reply, error) {
		select {
		case <-block:
		case <-ctx.Done():
		}
		return nil, ctx.Err()
	})
	zctx, _ := zmq.NewContext()
	s, err := NewServer(ServerConfig{Context: zctx, Listen: "tcp://127.0.0.1:*", Handler: mux})
	if err != nil {
		t.Fatal(err)
	}
	cctx, _ := zmq.NewContext()
	c, _ := Dial(ConnConfig{Context: cctx, Endpoint: s.Endpoint()})
	defer func() { c.Close(); cctx.Term() }()
	if _, err := c.Call(ctxT(t, 5*time.Second), OpPing, &PingReq{}, nil); err != nil {
		t.Fatal(err)
	}
	res := make(chan error, 1)
	go func() {
		_, err := c.Call(ctxT(t, 60*time.Second), OpList, &ListReq{}, nil)
		res <- err
	}()
	waitFor(t, 5*time.Second, func() bool { return s.inflight.Load() == 1 })
	// Close the server socket without answering: the handler sees ctx canceled
	// and its reply is dropped with the socket.
	go func() { s.Close(); zctx.Term() }()
	select {
	case err := <-res:
		if !errors.Is(err, ErrUnreachable) && !errors.Is(err, ErrRemote) && err == nil {
			t.Fatalf("want unreachable, got %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("call in flight not failed after the server went away")
	}
	close(block)
}

func TestPlainREQSocketInterop(t *testing.T) {
	s, zctx := testServer(t, echoMux(), nil)
	req, err := zctx.NewSocket(zmq.REQ)
	if err != nil {
		t.Fatal(err)
	}
	defer req.Close()
	req.SetLinger(0)
	req.SetRcvtimeo(5 * time.Second)
	if err := req.Connect(s.Endpoint()); err != nil {
		t.Fatal(err)
	}
	head, _ := encodeHeader(&PingReq{}, OpPing, 99)
	if _, err := req.SendBytes(head, 0); err != nil {
		t.Fatal(err)
	}
	frames, err := req.RecvMessageBytes(0)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseFrames(frames, DefaultLimits())
	if err != nil || m.ID != 99 || m.Status != StatusOK {
		t.Fatalf("REQ reply %+v err %v", m, err)
	}
}

func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
