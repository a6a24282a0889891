package node_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/curve"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/node"
)

// A capture on lo during a put and a get across two members shows the
// object's bytes in plaintext mode and never under CURVE. tcpdump (Debian;
// `make deps` installs it) needs root; the test is skipped without either.
func TestCaptureShowsNoPlaintext(t *testing.T) {
	if _, err := exec.LookPath("tcpdump"); err != nil || os.Geteuid() != 0 {
		t.Skip("needs tcpdump and root (make deps installs tcpdump)")
	}
	pattern := bytes.Repeat([]byte("emerge-capture-canary-0123456789"), 64<<10) // 2 MiB
	needle := pattern[:256]
	if raw := capturePut(t, "", pattern); !bytes.Contains(raw, needle) {
		t.Fatalf("control: the plaintext capture (%d bytes) lacks the object; the capture does not work", len(raw))
	}
	secret := writeFile(t, t.TempDir(), "secret", curve.NewSecret())
	raw := capturePut(t, secret, pattern)
	if len(raw) < len(pattern) {
		t.Fatalf("the CURVE capture holds %d bytes, less than the object: traffic was not captured", len(raw))
	}
	if bytes.Contains(raw, needle) {
		t.Fatal("the object's bytes appear in plaintext on lo under CURVE")
	}
	t.Logf("CURVE capture: %d bytes, no plaintext of the %d-byte object", len(raw), len(pattern))
}

// capturePut starts two members (with the secret, when given), puts data
// through one and gets it through the other while tcpdump records their
// ports on lo, and returns the capture.
func capturePut(t *testing.T, secret string, data []byte) []byte {
	t.Helper()
	nodes := nodetest.Cluster(t, 2, func(i int, c *node.Config) { c.SecurityClusterSecretFile = secret })
	var ports []string
	for _, n := range nodes {
		for _, ep := range []string{n.Endpoint(), n.PubEndpoint()} {
			ports = append(ports, "port "+ep[strings.LastIndex(ep, ":")+1:])
		}
	}
	file := filepath.Join(t.TempDir(), "lo.pcap")
	stop := startCapture(t, file, "tcp and ("+strings.Join(ports, " or ")+")")
	o := client.Options{ClusterSecretFile: secret, NoShm: true} // through the socket, not shared memory
	put, err := dial(t, nodes[0], o)
	if err != nil {
		t.Fatal(err)
	}
	get, err := dial(t, nodes[1], o)
	if err != nil {
		t.Fatal(err)
	}
	ctx := nodetest.Context(t, time.Minute)
	ref, err := put.PutBytes(ctx, data, client.PutOptions{Replicas: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := get.GetBytes(ctx, ref); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("get through the other member: %v", err)
	}
	stop()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// startCapture runs tcpdump on lo until the returned stop is called, and
// waits until it listens.
func startCapture(t *testing.T, file, filter string) (stop func()) {
	t.Helper()
	cmd := exec.Command("tcpdump", "-i", "lo", "-U", "-s", "0", "-B", "16384", "-w", file, filter)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stderr)
	for lines.Scan() && !strings.Contains(lines.Text(), "listening on") {
	}
	go func() {
		for lines.Scan() {
		}
	}()
	done := false
	stop = func() {
		if done {
			return
		}
		done = true
		cmd.Process.Signal(syscall.SIGINT)
		if err := cmd.Wait(); err != nil {
			t.Logf("tcpdump: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}
