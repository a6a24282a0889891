package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/node"
)

// The project's docs stand alone: they cite no file outside the repository
// and no issue number.
func TestDocsStandAlone(t *testing.T) {
	docs, _ := filepath.Glob("../../docs/*.md")
	docs = append(docs, "../../README.md")
	bad := regexp.MustCompile(`DESIGN\.md|\b[Ii]ssue #?\d+|being wired in`)
	for _, p := range docs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if m := bad.FindString(line); m != "" {
				t.Errorf("%s:%d cites %q, which a reader of the repository cannot see", filepath.Base(p), i+1, m)
			}
		}
	}
}

// The docs say what a get of an unknown ref costs, with the default the
// code has.
func TestDocsLocateTimeout(t *testing.T) {
	want := node.DefaultConfig().LocateTimeout
	if want != 10*time.Second {
		t.Fatalf("locate_timeout's default is %s: update the docs that say 10 s, then this test", want)
	}
	for _, p := range []string{"../../docs/operations.md", "../../docs/protocol.md", "../../README.md"} {
		b, _ := os.ReadFile(p)
		if !regexp.MustCompile("`locate_timeout` \\(10 s").Match(b) {
			t.Errorf("%s does not say that an unknown ref waits `locate_timeout` (10 s)", p)
		}
	}
	b, _ := os.ReadFile("../../docs/operations.md")
	if !strings.Contains(string(b), `{"node", "rpc", "pub", "host"}`) {
		t.Error("operations.md does not list the ready file's keys")
	}
}

// docBlock returns the first fenced block of lang after heading in a doc.
func docBlock(t *testing.T, path, heading, lang string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), heading+"\n")
	if !ok {
		t.Fatalf("%s has no %q", path, heading)
	}
	_, rest, ok = strings.Cut(rest, "```"+lang+"\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatalf("%s: no %s block under %q", path, lang, heading)
	}
	return block
}

// python returns a Python 3 with pyzmq and msgpack (Debian's python3-zmq
// and python3-msgpack), or skips.
func python(t *testing.T) string {
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(p, "-c", "import zmq, msgpack").Run() == nil {
			return p
		}
	}
	t.Skip("no python3 with pyzmq and msgpack (Debian: apt-get install python3-zmq python3-msgpack)")
	return ""
}

// The pyzmq snippet of protocol.md, as written but for the endpoint: it
// prints the ref on a lone node with the defaults, and reports the status
// (no KeyError) when the node refuses the put.
func TestProtocolPythonSnippet(t *testing.T) {
	py := python(t)
	snippet := docBlock(t, "../../docs/protocol.md", "## Talking to a node from Python (pyzmq and msgpack)", "python")
	if !strings.Contains(snippet, `"tcp://127.0.0.1:7700"`) {
		t.Fatalf("the snippet no longer connects to the default endpoint:\n%s", snippet)
	}
	runSnippet := func(ep string) (string, string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, py, "-c", strings.ReplaceAll(snippet, "tcp://127.0.0.1:7700", ep))
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		return out.String(), errb.String(), err
	}
	lone := nodetest.Start(t, func(c *node.Config) { c.Replicas, c.MinReplicas = 2, 1 }) // the defaults
	out, errOut, err := runSnippet(lone.Endpoint())
	want, perr := nodetest.Client(t, lone).PutBytes(nodetest.Context(t, time.Minute), []byte("hello"), client.PutOptions{})
	if err != nil || perr != nil || strings.TrimSpace(out) != want.String() {
		t.Fatalf("snippet on a lone node: %v %v, stdout %q (want %s), stderr %s", err, perr, out, want, errOut)
	}
	refusing := nodetest.Start(t, func(c *node.Config) { c.Replicas, c.MinReplicas = 2, 2 }) // needs 2 members
	out, errOut, err = runSnippet(refusing.Endpoint())
	if err == nil || !strings.Contains(errOut, "put failed: status 4") || strings.Contains(errOut, "KeyError") {
		t.Fatalf("snippet against a refused put: %v, stdout %q, stderr %q", err, out, errOut)
	}
}
