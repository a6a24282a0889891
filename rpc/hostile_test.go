package rpc

import (
	"bytes"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"
	"github.com/vmihailenco/msgpack/v5"
)

// rawDealer sends arbitrary frames and returns the reply frames.
func rawDealer(t *testing.T, zctx *zmq.Context, endpoint string) func(frames ...[]byte) [][]byte {
	d, err := zctx.NewSocket(zmq.DEALER)
	if err != nil {
		t.Fatal(err)
	}
	d.SetLinger(0)
	d.SetRcvtimeo(5 * time.Second)
	d.Connect(endpoint)
	t.Cleanup(func() { d.Close() })
	return func(frames ...[]byte) [][]byte {
		t.Helper()
		for i, f := range frames {
			flag := zmq.SNDMORE
			if i == len(frames)-1 {
				flag = 0
			}
			if _, err := d.SendBytes(f, flag); err != nil {
				t.Fatal(err)
			}
		}
		reply, err := d.RecvMessageBytes(0)
		if err != nil {
			t.Fatalf("no reply to hostile frames: %v", err)
		}
		return reply
	}
}

func replyStatus(t *testing.T, frames [][]byte) Status {
	t.Helper()
	if len(frames) < 2 || len(frames[0]) != 0 {
		t.Fatalf("reply lacks the delimiter: %q", frames)
	}
	var h Header
	if err := msgpack.Unmarshal(frames[1], &h); err != nil {
		t.Fatalf("reply header: %v", err)
	}
	return h.Status
}

func TestMalformedFramesGetBadRequestAndServerKeepsServing(t *testing.T) {
	s, zctx := testServer(t, echoMux(), func(c *ServerConfig) {
		c.Limits = Limits{MaxHeader: 1024, MaxFrame: 1 << 20, MaxFrames: 4}
	})
	send := rawDealer(t, zctx, s.Endpoint())
	good, _ := encodeHeader(&PingReq{}, OpPing, 1)
	future, _ := msgpack.Marshal(map[string]any{"v": 9, "op": 1, "id": 5})
	cases := []struct {
		name   string
		frames [][]byte
		want   Status
	}{
		{"no delimiter", [][]byte{good}, StatusBadRequest},
		{"delimiter only", [][]byte{{}}, StatusBadRequest},
		{"garbage header", [][]byte{{}, []byte("\xc1\xff not msgpack")}, StatusBadRequest},
		{"header is an int", [][]byte{{}, {0x05}}, StatusBadRequest},
		{"header too big", [][]byte{{}, bytes.Repeat([]byte{0x90}, 2000)}, StatusTooLarge},
		{"future version", [][]byte{{}, future}, StatusUnsupported},
		{"too many frames", [][]byte{{}, good, {1}, {2}, {3}, {4}, {5}}, StatusTooLarge},
		{"frame too big", [][]byte{{}, good, make([]byte, 1<<20+1)}, StatusTooLarge},
		{"bad body field types", [][]byte{{}, mustMarshal(map[string]any{"v": 1, "op": 2, "id": 3, "bs": "x"})}, StatusBadRequest},
		{"meta over cap", [][]byte{{}, mustMarshal(map[string]any{"v": 1, "op": 2, "id": 3, "meta": bigMeta()})}, StatusBadRequest},
	}
	for _, tc := range cases {
		if got := replyStatus(t, send(tc.frames...)); got != tc.want {
			t.Errorf("%s: status %s, want %s", tc.name, got, tc.want)
		}
	}
	if got := replyStatus(t, send([]byte{}, good)); got != StatusOK {
		t.Fatalf("good request after hostile ones: %s", got)
	}
}

func mustMarshal(v any) []byte {
	b, err := msgpack.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func bigMeta() map[string]string {
	m := map[string]string{}
	for i := 0; i < 100; i++ {
		m[string(rune('a'+i%26))+string(rune('a'+i/26))] = "v"
	}
	return m
}

// A peer sending a frame above the hard ZeroMQ cap is disconnected; everyone
// else keeps being served.
func TestOversizedFrameDisconnectsOnlyThatPeer(t *testing.T) {
	s, zctx := testServer(t, echoMux(), func(c *ServerConfig) {
		c.Limits = Limits{MaxFrame: 1 << 20}
	})
	c := testConn(t, zctx, s.Endpoint())
	d, _ := zctx.NewSocket(zmq.DEALER)
	d.SetLinger(0)
	defer d.Close()
	d.Connect(s.Endpoint())
	good, _ := encodeHeader(&PingReq{}, OpPing, 1)
	d.SendMessage([]byte{}, good, make([]byte, 3<<20))
	for i := 0; i < 5; i++ {
		if _, err := c.Call(ctxT(t, 5*time.Second), OpPing, &PingReq{}, nil); err != nil {
			t.Fatalf("honest client after an oversized frame: %v", err)
		}
	}
}

func TestCloseIsIdempotentAndLeaksNothing(t *testing.T) {
	before := runtime.NumGoroutine()
	zctx, _ := zmq.NewContext()
	s, err := NewServer(ServerConfig{Context: zctx, Listen: "tcp://127.0.0.1:*", Handler: echoMux()})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := Dial(ConnConfig{Context: zctx, Endpoint: s.Endpoint()})
	if _, err := c.Call(ctxT(t, 5*time.Second), OpPing, &PingReq{}, nil); err != nil {
		t.Fatal(err)
	}
	c.Close()
	c.Close()
	s.Close()
	s.Close()
	if _, err := c.Call(ctxT(t, time.Second), OpPing, &PingReq{}, nil); err == nil {
		t.Fatal("call on a closed conn succeeded")
	}
	if err := zctx.Term(); err != nil {
		t.Fatalf("context term (a socket left open?): %v", err)
	}
	waitFor(t, 5*time.Second, func() bool { return runtime.NumGoroutine() <= before })
}

// Random bytes on a plain TCP connection would parse as ZMTP 1.0 frames
// (libzmq falls back to it when the greeting lacks the 0xFF signature) and
// flood the server with junk requests. The ZAP domain makes libzmq refuse
// pre-3.0 peers, so none of it reaches the server.
func TestRawTCPJunkNeverBecomesRequests(t *testing.T) {
	s, zctx := testServer(t, echoMux(), nil)
	addr := strings.TrimPrefix(s.Endpoint(), "tcp://")
	for i := 0; i < 50; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(100 * time.Millisecond))
		c.Write(bytes.Repeat([]byte{byte(i + 1), 0, 'x', 'y'}, 1024))
		c.Read(make([]byte, 64))
		c.Close()
	}
	// A real client still gets through, and by then every junk connection
	// has been handled.
	c := testConn(t, zctx, s.Endpoint())
	if _, err := c.Call(ctxT(t, 5*time.Second), OpPing, &PingReq{}, nil); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.BadRequests != 0 || st.Requests != 1 {
		t.Fatalf("raw TCP junk reached the server: %+v", st)
	}
}
