package curve

import (
	"fmt"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"
	"github.com/rs/zerolog"
)

// server is a CURVE ROUTER echoing every message, with its own context and
// ZAP handler, as a node has.
type server struct {
	zctx     *zmq.Context
	zap      *ZAP
	endpoint string
}

func startServer(t *testing.T, keys Keypair, allow *Allowlist) *server {
	t.Helper()
	zctx, err := zmq.NewContext()
	if err != nil {
		t.Fatal(err)
	}
	z, err := NewZAP(zctx, allow, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	r, _ := zctx.NewSocket(zmq.ROUTER)
	r.SetLinger(0)
	r.SetZapDomain("emerge")
	if err := (&Server{Keys: keys, Allow: allow}).Apply(r); err != nil {
		t.Fatal(err)
	}
	if err := r.Bind("tcp://127.0.0.1:*"); err != nil {
		t.Fatal(err)
	}
	ep, _ := r.GetLastEndpoint()
	stop := make(chan struct{})
	done := make(chan struct{})
	r.SetRcvtimeo(50 * time.Millisecond) // so the echo loop sees stop
	go func() {
		defer close(done)
		defer r.Close()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if msg, err := r.RecvMessageBytes(0); err == nil {
				r.SendMessage(msg)
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		<-done
		z.Close()
		z.Close()
		zctx.Term()
	})
	return &server{zctx: zctx, zap: z, endpoint: ep}
}

// outcome connects a DEALER (CURVE with c, or plaintext when c is nil) and
// reports whether its message came back or the handshake failed, from the
// socket monitor: no timing decides.
func outcome(t *testing.T, endpoint string, c *Client) string {
	t.Helper()
	zctx, _ := zmq.NewContext()
	defer zctx.Term()
	d, _ := zctx.NewSocket(zmq.DEALER)
	defer d.Close()
	d.SetLinger(0)
	if c != nil {
		if err := c.Apply(d); err != nil {
			t.Fatal(err)
		}
	}
	mon := fmt.Sprintf("inproc://mon-%p", d)
	d.Monitor(mon, zmq.EVENT_HANDSHAKE_SUCCEEDED|zmq.EVENT_HANDSHAKE_FAILED_AUTH|zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL|zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL)
	m, _ := zctx.NewSocket(zmq.PAIR)
	defer m.Close()
	m.SetLinger(0)
	m.Connect(mon)
	m.SetRcvtimeo(30 * time.Second)
	d.Connect(endpoint)
	ev, _, _, err := m.RecvEvent(0)
	d.Monitor("", 0)
	if err != nil {
		t.Fatalf("no handshake outcome: %v", err)
	}
	if ev != zmq.EVENT_HANDSHAKE_SUCCEEDED {
		return "refused"
	}
	d.SetRcvtimeo(30 * time.Second)
	d.SendMessage("hello")
	if r, err := d.RecvMessage(0); err != nil || len(r) != 1 || r[0] != "hello" {
		t.Fatalf("echo after the handshake: %q %v", r, err)
	}
	return "served"
}

func TestZAPLetsInOnlyAllowedKeys(t *testing.T) {
	secret := []byte("a cluster secret for tests")
	cl, _ := Derive(secret)
	alice, _ := Generate()
	mallory, _ := Generate()
	s := startServer(t, cl.Server, NewAllowlist(cl.Member.Public, alice.Public))
	wrong, _ := Derive([]byte("another cluster's secret"))
	cases := []struct {
		name string
		c    *Client
		want string
	}{
		{"member key", &Client{ServerKey: cl.Server.Public, Keys: cl.Member}, "served"},
		{"allowed own key", &Client{ServerKey: cl.Server.Public, Keys: alice}, "served"},
		{"unknown key", &Client{ServerKey: cl.Server.Public, Keys: mallory}, "refused"},
		{"wrong secret", &Client{ServerKey: wrong.Server.Public, Keys: wrong.Member}, "refused"},
		{"plaintext", nil, "refused"},
	}
	for _, tc := range cases {
		if got := outcome(t, s.endpoint, tc.c); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	if st := s.zap.Stats(); st.Allowed != 2 || st.Denied != 1 {
		t.Errorf("zap stats %+v, want 2 allowed and 1 denied (the others fail before ZAP)", st)
	}
}

// Two servers in one process, each with its own context and handler, apply
// their own lists.
func TestZAPPerContext(t *testing.T) {
	cl, _ := Derive([]byte("a cluster secret for tests"))
	a, _ := Generate()
	b, _ := Generate()
	sa := startServer(t, cl.Server, NewAllowlist(a.Public))
	sb := startServer(t, cl.Server, NewAllowlist(b.Public))
	ca := &Client{ServerKey: cl.Server.Public, Keys: a}
	cb := &Client{ServerKey: cl.Server.Public, Keys: b}
	if outcome(t, sa.endpoint, ca) != "served" || outcome(t, sb.endpoint, cb) != "served" {
		t.Fatal("a server refused the key on its own list")
	}
	if outcome(t, sa.endpoint, cb) != "refused" || outcome(t, sb.endpoint, ca) != "refused" {
		t.Fatal("a server let in a key only the other server's list holds")
	}
}
