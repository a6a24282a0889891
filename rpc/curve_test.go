package rpc

import (
	"errors"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/internal/curve"
	zmq "github.com/pebbe/zmq4"
	"github.com/rs/zerolog"
)

// curveServer starts a CURVE server with its own context and ZAP handler,
// letting in allow.
func curveServer(t *testing.T, cl curve.Cluster, allow *curve.Allowlist) (*Server, *zmq.Context) {
	t.Helper()
	zctx, err := zmq.NewContext()
	if err != nil {
		t.Fatal(err)
	}
	zap, err := curve.NewZAP(zctx, allow, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewServer(ServerConfig{Context: zctx, Listen: "tcp://127.0.0.1:*", Handler: echoMux(),
		Curve: &curve.Server{Keys: cl.Server, Allow: allow}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		zap.Close()
		zctx.Term()
	})
	return s, zctx
}

func curveConn(t *testing.T, endpoint string, c *curve.Client) *Conn {
	t.Helper()
	zctx, _ := zmq.NewContext()
	conn, err := Dial(ConnConfig{Context: zctx, Endpoint: endpoint, Curve: c})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		zctx.Term()
	})
	return conn
}

func ping(t *testing.T, c *Conn) error {
	_, err := c.Call(ctxT(t, 30*time.Second), OpPing, &PingReq{}, nil)
	return err
}

func TestCurveRefusals(t *testing.T) {
	cl, _ := curve.Derive([]byte("the cluster secret of this test"))
	wrong, _ := curve.Derive([]byte("another cluster secret entirely"))
	stranger, _ := curve.Generate()
	s, _ := curveServer(t, cl, curve.NewAllowlist(cl.Member.Public))
	if err := ping(t, curveConn(t, s.Endpoint(), &curve.Client{ServerKey: cl.Server.Public, Keys: cl.Member})); err != nil {
		t.Fatalf("member: %v", err)
	}
	refused := map[string]*curve.Client{
		"no secret":    nil,
		"wrong secret": {ServerKey: wrong.Server.Public, Keys: wrong.Member},
		"unknown key":  {ServerKey: cl.Server.Public, Keys: stranger},
	}
	for name, c := range refused {
		conn := curveConn(t, s.Endpoint(), c)
		for i := 0; i < 2; i++ { // the second call too: the refusal lasts
			if err := ping(t, conn); !errors.Is(err, ErrDenied) {
				t.Errorf("%s, call %d: %v, want ErrDenied", name, i, err)
			}
		}
	}
}

// A CURVE client at a plaintext server is refused too: a node with a secret
// never talks to one without.
func TestCurveClientAtPlaintextServer(t *testing.T) {
	cl, _ := curve.Derive([]byte("the cluster secret of this test"))
	s, _ := testServer(t, echoMux(), nil)
	conn := curveConn(t, s.Endpoint(), &curve.Client{ServerKey: cl.Server.Public, Keys: cl.Member})
	if err := ping(t, conn); !errors.Is(err, ErrDenied) {
		t.Fatalf("CURVE client at a plaintext server: %v, want ErrDenied", err)
	}
}

// A key removed from the allowlist fails at its next call on a connection
// that is already up, and cannot connect again.
func TestRevokedKeyFailsNextCall(t *testing.T) {
	cl, _ := curve.Derive([]byte("the cluster secret of this test"))
	alice, _ := curve.Generate()
	allow := curve.NewAllowlist(cl.Member.Public, alice.Public)
	s, _ := curveServer(t, cl, allow)
	c := &curve.Client{ServerKey: cl.Server.Public, Keys: alice}
	conn := curveConn(t, s.Endpoint(), c)
	if err := ping(t, conn); err != nil {
		t.Fatalf("before revocation: %v", err)
	}
	allow.Set([]string{cl.Member.Public})
	if err := ping(t, conn); !errors.Is(err, ErrDenied) {
		t.Fatalf("next call after revocation: %v, want ErrDenied", err)
	}
	if err := ping(t, curveConn(t, s.Endpoint(), c)); !errors.Is(err, ErrDenied) {
		t.Fatalf("new connection after revocation: %v, want ErrDenied", err)
	}
	if err := ping(t, curveConn(t, s.Endpoint(), &curve.Client{ServerKey: cl.Server.Public, Keys: cl.Member})); err != nil {
		t.Fatalf("a member after the revocation: %v", err)
	}
}

// A connection refused for its key reaches the node once the key is let in
// again, without a new Conn.
func TestRefusedConnRecovers(t *testing.T) {
	cl, _ := curve.Derive([]byte("the cluster secret of this test"))
	alice, _ := curve.Generate()
	allow := curve.NewAllowlist(cl.Member.Public)
	s, _ := curveServer(t, cl, allow)
	conn := curveConn(t, s.Endpoint(), &curve.Client{ServerKey: cl.Server.Public, Keys: alice})
	if err := ping(t, conn); !errors.Is(err, ErrDenied) {
		t.Fatalf("before alice is let in: %v, want ErrDenied", err)
	}
	allow.Set([]string{cl.Member.Public, alice.Public})
	waitUntil(t, "alice's connection to be let in", func() bool { return ping(t, conn) == nil })
}
