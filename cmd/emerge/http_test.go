package main

import (
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// The ready file names the HTTP endpoint, which answers /readyz; an
// http_listen in use fails the start with exit 2 and a line naming the key.
func TestCLINodeHTTP(t *testing.T) {
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready.json")
	stop := startCLINode(t, ready, "--data-dir", dir, "--listen", "127.0.0.1:*", "--replicas", "1")
	defer stop()
	var info map[string]string
	readJSON(t, ready, &info)
	resp, err := http.Get(info["http"] + "/readyz")
	if err != nil {
		t.Fatalf("ready file %v: %v", info, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "ready\n" {
		t.Fatalf("readyz: %s %q", resp.Status, b)
	}

	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	r := runCLI(t, nil, "node", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:*", "--log-level", "warn", "--http-listen", held.Addr().String())
	if r.code != exitUsage || !strings.Contains(r.stderr, "http_listen "+held.Addr().String()+" is in use") ||
		!strings.Contains(r.stderr, "set http_listen (--http-listen)") || strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("http_listen in use: %+v", r)
	}
	r = runCLI(t, nil, "node", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:*", "--log-level", "warn", "--http-listen", "nohost")
	if r.code != exitUsage || !strings.Contains(r.stderr, "http_listen") || strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("bad http_listen: %+v", r)
	}
}
