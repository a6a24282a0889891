package node_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/curve"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/internal/testdata"
	"github.com/emerge-dev/emerge/node"
	zmq "github.com/pebbe/zmq4"
)

// writeFile writes a file with mode 0600 in dir and returns its path.
func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// newKey makes a key file naming the server key of secret and returns its
// path and public key.
func newKey(t *testing.T, dir, name, secretFile string) (string, string) {
	t.Helper()
	k, err := curve.Generate()
	if err != nil {
		t.Fatal(err)
	}
	c, err := curve.ClientFromFiles(secretFile, "")
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, name, curve.KeyFile{Keys: k, ServerKey: c.ServerKey}.Marshal()), k.Public
}

func dial(t *testing.T, n *node.Node, o client.Options) (*client.Client, error) {
	t.Helper()
	o.DialTimeout = 30 * time.Second
	c, err := client.Dial(context.Background(), n.Endpoint(), &o)
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

func liveIDs(n *node.Node) []string {
	var ids []string
	for _, m := range n.Live() {
		ids = append(ids, m.ID)
	}
	return ids
}

// Members with the cluster secret form a cluster and serve clients that
// hold it; a client without it or with another secret is refused, and so is
// a would-be member without it; a node with the secret never joins a
// cluster without one.
func TestClusterSecretRefusals(t *testing.T) {
	dir := t.TempDir()
	secret := writeFile(t, dir, "secret", curve.NewSecret())
	wrong := writeFile(t, dir, "wrong", curve.NewSecret())
	withSecret := func(i int, c *node.Config) { c.SecurityClusterSecretFile = secret }
	nodes := nodetest.Cluster(t, 2, withSecret)

	c, err := dial(t, nodes[0], client.Options{ClusterSecretFile: secret})
	if err != nil {
		t.Fatalf("client with the secret: %v", err)
	}
	ctx := nodetest.Context(t, time.Minute)
	data := testdata.Bytes(9, 3<<20)
	ref, err := c.PutBytes(ctx, data, client.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c1, err := dial(t, nodes[1], client.Options{ClusterSecretFile: secret})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c1.GetBytes(ctx, ref); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("get through the other member: %v", err)
	}
	for name, o := range map[string]client.Options{"no secret": {}, "wrong secret": {ClusterSecretFile: wrong}} {
		if _, err := dial(t, nodes[0], o); !errors.Is(err, client.ErrDenied) {
			t.Errorf("client with %s: %v, want ErrDenied", name, err)
		}
	}

	// A node without the secret asks to join; a node with the secret joins
	// a plaintext node. Neither gets in; a member started after them does.
	outsider := nodetest.Start(t, func(c *node.Config) { nodetest.Fast(c); c.Peers = []string{nodes[0].Endpoint()} })
	plain := nodetest.Start(t, nodetest.Fast)
	stray := nodetest.Start(t, func(c *node.Config) {
		nodetest.Fast(c)
		c.SecurityClusterSecretFile, c.Peers = secret, []string{plain.Endpoint()}
	})
	late := nodetest.Start(t, func(c *node.Config) {
		nodetest.Fast(c)
		c.SecurityClusterSecretFile, c.Peers = secret, []string{nodes[1].Endpoint()}
	})
	nodetest.WaitConverged(t, append(nodes, late), 3)
	if ids := liveIDs(nodes[0]); slices.Contains(ids, outsider.ID()) || slices.Contains(ids, stray.ID()) {
		t.Fatalf("members %v let in a node without the secret or outside the cluster", ids)
	}
	for _, n := range []*node.Node{outsider, plain, stray} {
		if len(n.Live()) != 1 {
			t.Fatalf("node %s joined across the secret boundary: %v", n.ID(), liveIDs(n))
		}
	}
}

// A client key let in through the allow file fails at its next call once
// its line is deleted, and works again once it is back.
func TestRevokedClientKeyFailsNextCall(t *testing.T) {
	dir := t.TempDir()
	secret := writeFile(t, dir, "secret", curve.NewSecret())
	nodeKey, nodePub := newKey(t, dir, "node.key", secret)
	aliceKey, alicePub := newKey(t, dir, "alice.key", secret)
	allow := writeFile(t, dir, "allow", []byte(nodePub+" node\n"+alicePub+" alice\n"))
	n := nodetest.Start(t, func(c *node.Config) {
		c.SecurityClusterSecretFile, c.SecurityKeyFile, c.SecurityAllowFile = secret, nodeKey, allow
	})
	alice, err := dial(t, n, client.Options{KeyFile: aliceKey}) // no secret: the key file names the server key
	if err != nil {
		t.Fatalf("alice: %v", err)
	}
	ctx := nodetest.Context(t, time.Minute)
	if _, err := alice.Status(ctx); err != nil {
		t.Fatalf("alice before revocation: %v", err)
	}
	if _, err := dial(t, n, client.Options{ClusterSecretFile: secret}); !errors.Is(err, client.ErrDenied) {
		t.Fatalf("with an allow list the secret alone must not admit: %v", err)
	}
	writeFile(t, dir, "allow", []byte(nodePub+" node\n"))
	nodetest.WaitFor(t, 30*time.Second, "alice's next call to be refused", func() bool {
		_, err := alice.Status(ctx)
		return errors.Is(err, client.ErrDenied)
	})
	if _, err := dial(t, n, client.Options{KeyFile: aliceKey}); !errors.Is(err, client.ErrDenied) {
		t.Fatalf("alice reconnecting after revocation: %v", err)
	}
	writeFile(t, dir, "allow", []byte(nodePub+" node\n"+alicePub+" alice\n"))
	nodetest.WaitFor(t, 30*time.Second, "alice to be let in again", func() bool {
		_, err := alice.Status(ctx)
		return err == nil
	})
}

// Without a secret a node binds only loopback or ipc, unless insecure.
func TestPlaintextOnlyOnLoopback(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		mod func(*node.Config)
		ok  bool
	}{
		{func(c *node.Config) {}, true},
		{func(c *node.Config) { c.Listen = "ipc://" + filepath.Join(dir, "rpc") }, true},
		{func(c *node.Config) { c.Listen = "tcp://0.0.0.0:7700" }, false},
		{func(c *node.Config) { c.PubListen = "tcp://*:7701" }, false},
		{func(c *node.Config) { c.Listen, c.Insecure = "tcp://0.0.0.0:7700", true }, true},
		{func(c *node.Config) { c.Listen, c.SecurityClusterSecretFile = "tcp://0.0.0.0:7700", "/some/secret" }, true},
		{func(c *node.Config) { c.SecurityKeyFile = "/some/key" }, false},
		{func(c *node.Config) { c.SecurityClusterSecretFile, c.SecurityAllow = "/s", []string{"nonsense"} }, false},
	}
	for i, tc := range cases {
		cfg := node.DefaultConfig()
		tc.mod(&cfg)
		_, err := node.New(cfg)
		if tc.ok != (err == nil) || err != nil && !errors.Is(err, node.ErrConfig) {
			t.Errorf("case %d: %v (want ok: %v)", i, err, tc.ok)
		}
	}
}

// Junk at a CURVE node's ports — raw bytes at the rpc and pub ports,
// plaintext ZeroMQ frames at the rpc port — changes nothing for a member
// client's put and get.
func TestJunkAtCurvePorts(t *testing.T) {
	secret := writeFile(t, t.TempDir(), "secret", curve.NewSecret())
	n := nodetest.Start(t, func(c *node.Config) { c.SecurityClusterSecretFile = secret })
	c, err := dial(t, n, client.Options{ClusterSecretFile: secret, NoShm: true})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var replies, conns atomic.Int64
	for _, ep := range []string{n.Endpoint(), n.PubEndpoint()} {
		wg.Add(2)
		go func() { defer wg.Done(); conns.Add(int64(rawJunk(ep, stop))) }()
		go func() { defer wg.Done(); replies.Add(int64(plaintextJunk(ep, stop))) }()
	}
	ctx := nodetest.Context(t, 2*time.Minute)
	data := testdata.Bytes(11, 32<<20)
	ref, err := c.PutBytes(ctx, data, client.PutOptions{})
	if err == nil {
		var got []byte
		got, err = c.GetBytes(ctx, ref)
		if err == nil && !bytes.Equal(got, data) {
			err = errors.New("object differs")
		}
	}
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("put and get under junk: %v", err)
	}
	if replies.Load() != 0 {
		t.Fatalf("%d plaintext ZeroMQ requests were answered by a CURVE node", replies.Load())
	}
	if conns.Load() == 0 {
		t.Fatal("the junk senders did not run")
	}
}

// rawJunk opens TCP connections to ep and writes random bytes on each until
// stop; it returns how many it opened.
func rawJunk(ep string, stop <-chan struct{}) int {
	addr := strings.TrimPrefix(ep, "tcp://")
	for i := 0; ; i++ {
		select {
		case <-stop:
			return i
		default:
		}
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			continue
		}
		conn.SetDeadline(time.Now().Add(100 * time.Millisecond))
		conn.Write(testdata.Bytes(uint64(i), 4096))
		conn.Read(make([]byte, 64))
		conn.Close()
	}
}

// plaintextJunk sends malformed frames from a plaintext DEALER until stop and
// counts the replies (a CURVE node never lets it in: there are none). Sends
// and receives time out, as the DEALER never gets a peer.
func plaintextJunk(ep string, stop <-chan struct{}) int {
	zctx, _ := zmq.NewContext()
	defer zctx.Term()
	d, _ := zctx.NewSocket(zmq.DEALER)
	defer d.Close()
	d.SetLinger(0)
	d.SetSndtimeo(100 * time.Millisecond)
	d.SetRcvtimeo(100 * time.Millisecond)
	d.Connect(ep)
	replies := 0
	for {
		select {
		case <-stop:
			return replies
		default:
		}
		d.SendMessage([]byte{}, []byte("\xc1 not msgpack"))
		if r, err := d.RecvMessageBytes(0); err == nil && len(r) > 0 {
			replies++
		}
	}
}
