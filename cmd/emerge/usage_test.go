package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/spf13/cobra"
)

// Bad usage exits 2 with one line, and the line names the command once.
func TestCLIUsageErrors(t *testing.T) {
	n := nodetest.Start(t, nil)
	ep := "--node=" + n.Endpoint()
	ref := strings.TrimSpace(runCLI(t, []byte("x"), ep, "put", "-").stdout)
	cases := []struct {
		args []string
		msg  string
	}{
		{[]string{"lss"}, `unknown command "lss"; did you mean "ls"?`},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"group", "jion", "actor"}, `group: unknown subcommand "jion"; did you mean "join"?`},
		{[]string{"prefetch", "stat", ref}, `prefetch: unknown subcommand "stat"`},
		{[]string{"help", "lss"}, `unknown command "lss"`},
		{[]string{"help", "group", "jion"}, `group: unknown subcommand "jion"`},
		{[]string{ep, "get", ref, ref}, "emerge: get: want one REF"},
		{[]string{ep, "group", "join"}, "emerge: group join: want one group NAME"},
		{[]string{ep, "rm"}, "emerge: rm: want one or more REFs"},
		{[]string{"--node", "nohost", "ls"}, `bad endpoint "nohost": want host:port or tcp://host:port`},
		{[]string{"--node", "127.0.0.1:99999", "ls"}, "bad endpoint"},
		{[]string{"node", "--shm-off=maybe"}, "shm_off"},
	}
	for _, c := range cases {
		r := runCLI(t, nil, c.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, c.msg) || strings.Count(r.stderr, "\n") != 1 ||
			strings.Contains(r.stderr, "emerge: emerge") {
			t.Errorf("%q: code %d, stderr %q; want exit 2 and one line with %q", c.args, r.code, r.stderr, c.msg)
		}
	}
	for _, args := range [][]string{{}, {"group"}, {"prefetch"}, {"help"}, {"help", "put"}, {"help", "prefetch", "start"}} {
		if r := runCLI(t, nil, args...); r.code != 0 || !strings.Contains(r.stdout, "Usage:") {
			t.Errorf("%q: code %d, want help on stdout and exit 0: %q", args, r.code, r.stdout)
		}
	}
}

// --node takes host:port as well as tcp://host:port.
func TestCLINodeHostPort(t *testing.T) {
	n := nodetest.Start(t, nil)
	hostPort := strings.TrimPrefix(n.Endpoint(), "tcp://")
	if r := runCLI(t, nil, "--node", hostPort, "info", "--json"); r.code != 0 || !strings.Contains(r.stdout, `"node": "`+n.ID()) {
		t.Fatalf("--node %s: %+v", hostPort, r)
	}
	t.Setenv("EMERGE_NODE", hostPort)
	if r := runCLI(t, nil, "ls"); r.code != 0 {
		t.Fatalf("EMERGE_NODE=%s: %+v", hostPort, r)
	}
}

// Every command's help has an Examples section.
func TestCLIEveryCommandHasExamples(t *testing.T) {
	var walk func(c *cobra.Command)
	seen := 0
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if c.Name() == "completion" || (c.HasParent() && c.Parent().Name() == "completion") {
			return // cobra's own
		}
		seen++
		if strings.TrimSpace(c.Example) == "" {
			t.Errorf("%q has no examples", c.CommandPath())
		}
	}
	root := newRoot(nil)
	root.InitDefaultCompletionCmd()
	root.InitDefaultHelpCmd()
	walk(root)
	if seen < 17 {
		t.Fatalf("walked %d commands", seen)
	}
	if r := runCLI(t, nil, "put", "--help"); !strings.Contains(r.stdout, "Examples:") {
		t.Fatalf("put --help shows no examples: %s", r.stdout)
	}
}

// The node's boolean keys work bare and show as booleans in help.
func TestCLINodeBooleanFlags(t *testing.T) {
	help := runCLI(t, nil, "node", "--help").stdout
	for _, flag := range []string{"--shm-off", "--sync-writes"} {
		i := strings.Index(help, flag+" ")
		if i < 0 || strings.HasPrefix(strings.TrimLeft(help[i+len(flag):], " "), "value") ||
			strings.HasPrefix(help[i+len(flag)+1:], "bool") {
			t.Errorf("help shows %s with a value: %q", flag, help[max(i, 0):min(len(help), max(i, 0)+80)])
		}
	}
	for _, typed := range []string{"--heartbeat duration", "--block-size size", "--replicas int", "--peers list"} {
		if !strings.Contains(help, typed) {
			t.Errorf("help lacks %q", typed)
		}
	}
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready.json")
	stop := startCLINode(t, ready, "--data-dir", dir, "--listen", "127.0.0.1:*", "--shm-off", "--sync-writes", "--replicas", "1")
	defer stop()
	var info map[string]string
	readJSON(t, ready, &info)
	r := runCLI(t, nil, "--node", info["rpc"], "info", "--json")
	if r.code != 0 || strings.Contains(r.stdout, `"shm"`) {
		t.Fatalf("a node started with a bare --shm-off has shared memory: %+v", r)
	}
	if info["node"] == "" || info["pub"] == "" || info["id"] != "" {
		t.Fatalf("ready file %v: want node, rpc, pub, host", info)
	}
}

// startCLINode runs `emerge node` in this process until stop.
func startCLINode(t *testing.T, ready string, args ...string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan cliResult, 1)
	go func() {
		var out, errb bytes.Buffer
		code := run(ctx, append([]string{"node", "--ready-file", ready, "--log-level", "warn"}, args...), nil, &out, &errb)
		done <- cliResult{out.String(), errb.String(), code}
	}()
	nodetest.WaitFor(t, 30*time.Second, "the ready file", func() bool {
		select {
		case r := <-done:
			done <- r
			t.Fatalf("node exited: %+v", r)
		default:
		}
		_, err := os.Stat(ready)
		return err == nil
	})
	return func() {
		cancel()
		if r := <-done; r.code != 0 && r.code != exitInterrupted {
			t.Errorf("node exited %d: %s", r.code, r.stderr)
		}
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || json.Unmarshal(b, v) != nil {
		t.Fatalf("%s: %v %q", path, err, b)
	}
}

// A port in use fails the start with exit 2 and a line naming the key to
// change, listen or pub_listen; pub_listen follows a changed listen.
func TestCLINodePortInUse(t *testing.T) {
	held := nodetest.Start(t, nil)
	r := runCLI(t, nil, "node", "--data-dir", t.TempDir(), "--listen", held.Endpoint())
	if r.code != exitUsage || !strings.Contains(r.stderr, "in use") || !strings.Contains(r.stderr, "set listen (--listen)") ||
		strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("listen in use: %+v", r)
	}
	// A listen whose next port is taken: the derived pub_listen is in use.
	for try := 0; ; try++ {
		port, hold := freePortBeforeHeld(t)
		r = runCLI(t, nil, "node", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:"+strconv.Itoa(port))
		hold.Close()
		if strings.Contains(r.stderr, "set listen") && try < 5 {
			continue // someone took the free port meanwhile
		}
		if r.code != exitUsage || !strings.Contains(r.stderr, "pub_listen tcp://127.0.0.1:"+strconv.Itoa(port+1)+" is in use") ||
			!strings.Contains(r.stderr, "set pub_listen (--pub-listen)") {
			t.Fatalf("derived pub_listen in use: %+v", r)
		}
		break
	}
	// And pub_listen follows listen: a second node with only another --listen starts.
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready.json")
	port, hold := freePortBeforeHeld(t)
	hold.Close()
	stop := startCLINode(t, ready, "--data-dir", dir, "--listen", "127.0.0.1:"+strconv.Itoa(port), "--replicas", "1")
	defer stop()
	var info map[string]string
	readJSON(t, ready, &info)
	if info["pub"] != "tcp://127.0.0.1:"+strconv.Itoa(port+1) {
		t.Fatalf("pub %q: want the port after listen's %d", info["pub"], port)
	}
}

// freePortBeforeHeld returns a free port p and a listener holding p+1.
func freePortBeforeHeld(t *testing.T) (int, net.Listener) {
	t.Helper()
	for i := 0; i < 50; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		next, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+1))
		if err == nil {
			return p, next
		}
	}
	t.Fatal("no free port with a free next port")
	return 0, nil
}
