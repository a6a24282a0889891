package pubsub

import (
	"testing"

	"github.com/emerge-dev/emerge/internal/curve"
	"github.com/rs/zerolog"
)

// curveBus starts a bus in its own context with its own ZAP handler, as a
// node has; server or client may be nil (plaintext on that side).
func curveBus(t *testing.T, name string, server *curve.Server, client *curve.Client) *ZMQBus {
	t.Helper()
	zctx := newContext(t)
	if server != nil {
		zap, err := curve.NewZAP(zctx, server.Allow, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { zap.Close() }) // runs before the context's Term
	}
	cfg := zmqConfig(zctx, name)
	cfg.CurveServer, cfg.CurveClient = server, client
	return newZMQ(t, cfg)
}

// Members (holding the secret) hear each other; a subscriber without it, or
// with a key not let in, hears nothing.
func TestCurveBus(t *testing.T) {
	cl, _ := curve.Derive([]byte("the cluster secret of this test"))
	stranger, _ := curve.Generate()
	server := &curve.Server{Keys: cl.Server, Allow: curve.NewAllowlist(cl.Member.Public)}
	member := &curve.Client{ServerKey: cl.Server.Public, Keys: cl.Member}
	pub := curveBus(t, "pub", server, member)
	good := curveBus(t, "good", nil, member)
	plain := curveBus(t, "plain", nil, nil)
	unknown := curveBus(t, "unknown", nil, &curve.Client{ServerKey: cl.Server.Public, Keys: stranger})
	for _, b := range []*ZMQBus{good, plain, unknown} {
		if err := b.Connect(pub.Endpoint()); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "the member to hear 20 messages", func() bool {
		pub.Publish(t.Context(), Message{Type: TypeLeave, Incarnation: 1})
		return good.Stats().Received >= 20
	})
	if n := plain.Stats().Received + unknown.Stats().Received; n != 0 {
		t.Fatalf("subscribers without the secret or an allowed key heard %d messages", n)
	}
}
