package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emerge-dev/emerge/internal/curve"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/node"
)

func TestCLIKeygen(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if r := runCLI(t, nil, "keygen", "--secret", "-o", secret); r.code != 0 {
		t.Fatalf("keygen --secret: %d %s", r.code, r.stderr)
	}
	if _, _, err := curve.LoadSecret(secret); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "alice.key")
	r := runCLI(t, nil, "--cluster-secret-file", secret, "keygen", "-o", key)
	if r.code != 0 {
		t.Fatalf("keygen: %d %s", r.code, r.stderr)
	}
	f, err := curve.LoadKeyFile(key)
	if err != nil || strings.TrimSpace(r.stdout) != f.Keys.Public || f.ServerKey == "" {
		t.Fatalf("printed %q, file %+v: %v", r.stdout, f, err)
	}
	if st, _ := os.Stat(key); st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", st.Mode().Perm())
	}
	if r := runCLI(t, nil, "keygen", "-o", key); r.code != exitUsage || !strings.Contains(r.stderr, "exists") {
		t.Fatalf("keygen over an existing file: %d %q", r.code, r.stderr)
	}
	if r := runCLI(t, nil, "keygen"); r.code != exitUsage {
		t.Fatalf("keygen without -o: %d", r.code)
	}
}

// A CURVE node: without the secret the CLI exits 7 with one line; with the
// secret, or with a key file the node lets in, it works; a malformed key
// file is bad input (2).
func TestCLIDeniedExitCode(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	runCLI(t, nil, "keygen", "--secret", "-o", secret)
	key := filepath.Join(dir, "alice.key")
	pub := strings.TrimSpace(runCLI(t, nil, "--cluster-secret-file", secret, "keygen", "-o", key).stdout)
	nodeKey := filepath.Join(dir, "node.key")
	nodePub := strings.TrimSpace(runCLI(t, nil, "keygen", "-o", nodeKey).stdout)
	n := nodetest.Start(t, func(c *node.Config) {
		c.SecurityClusterSecretFile, c.SecurityKeyFile, c.SecurityAllow = secret, nodeKey, []string{nodePub, pub}
	})
	ep := "--node=" + n.Endpoint()
	r := runCLI(t, nil, ep, "info")
	if r.code != exitDenied || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "denied") {
		t.Fatalf("info without a key: %d %q", r.code, r.stderr)
	}
	if r := runCLI(t, nil, ep, "--key", key, "info"); r.code != 0 {
		t.Fatalf("info with an allowed key: %d %q", r.code, r.stderr)
	}
	t.Setenv("EMERGE_KEY_FILE", key)
	if r := runCLI(t, nil, ep, "info"); r.code != 0 {
		t.Fatalf("info with EMERGE_KEY_FILE: %d %q", r.code, r.stderr)
	}
	bad := filepath.Join(dir, "bad.key")
	os.WriteFile(bad, []byte("public-key = nonsense\n"), 0o600)
	if r := runCLI(t, nil, ep, "--key", bad, "info"); r.code != exitUsage {
		t.Fatalf("malformed key file: %d %q", r.code, r.stderr)
	}
}
