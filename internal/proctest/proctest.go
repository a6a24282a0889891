// Package proctest runs real `emerge` processes for tests: it builds the
// binary, starts `emerge node` with a ready file, and can SIGKILL, stop and
// restart it with the same data directory. Everything is cleaned up through
// t.Cleanup; a failing test gets the node's log.
package proctest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Binary returns the path of an emerge binary: $EMERGE_BIN when set (the
// Makefile builds one), otherwise one built from this module for the test
// process.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("EMERGE_BIN"); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return abs
	}
	path, err := build()
	if err != nil {
		t.Fatalf("build emerge: %v", err)
	}
	return path
}

var build = sync.OnceValues(func() (string, error) {
	root, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "emerge-proctest-")
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "emerge")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/emerge")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(root)))
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", errors.New(string(msg))
	}
	return out, nil
})

// Ready is what a node writes to its ready file.
type Ready struct {
	ID   string `json:"node"`
	RPC  string `json:"rpc"`
	Pub  string `json:"pub"`
	Host string `json:"host"`
}

// Node is one `emerge node` process.
type Node struct {
	t       testing.TB
	Bin     string
	DataDir string
	ShmDir  string   // its shared-memory tier, under /dev/shm, removed at cleanup
	Args    []string // extra flags
	Env     []string
	Ready   Ready

	cmd  *exec.Cmd
	log  string
	done chan error
}

// StartNode starts `emerge node` on an ephemeral port with a fresh data
// directory plus args, and waits until it serves.
func StartNode(t testing.TB, bin string, args ...string) *Node {
	t.Helper()
	n := &Node{t: t, Bin: bin, DataDir: t.TempDir(), ShmDir: shmDir(t), Args: args}
	n.Start()
	t.Cleanup(func() {
		if t.Failed() {
			n.dumpLog()
		}
		n.Kill()
	})
	return n
}

// Start (re)starts the process with the same data directory and flags.
func (n *Node) Start() {
	n.t.Helper()
	dir := n.t.TempDir()
	ready := filepath.Join(dir, "ready.json")
	n.log = filepath.Join(dir, "node.log")
	logf, err := os.Create(n.log)
	if err != nil {
		n.t.Fatal(err)
	}
	args := append([]string{"node", "--listen", "tcp://127.0.0.1:*", "--pub-listen", "tcp://127.0.0.1:*", "--data-dir", n.DataDir,
		"--ready-file", ready, "--log-format", "json", "--log-level", "debug", "--shm-dir", n.ShmDir}, n.Args...)
	n.cmd = exec.Command(n.Bin, args...)
	n.cmd.Env = append(os.Environ(), n.Env...)
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	if err := n.cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	n.done = make(chan error, 1)
	go func(cmd *exec.Cmd, done chan error) { done <- cmd.Wait(); logf.Close() }(n.cmd, n.done)
	n.waitReady(ready)
}

func (n *Node) waitReady(path string) {
	n.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &n.Ready) == nil {
			return
		}
		select {
		case err := <-n.done:
			n.done <- err
			n.dumpLog()
			n.t.Fatalf("emerge node exited before it was ready: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	n.dumpLog()
	n.t.Fatal("emerge node not ready within 60s")
}

// Kill sends SIGKILL and waits for the process to be gone.
func (n *Node) Kill() { n.signal(syscall.SIGKILL) }

// Stop sends SIGTERM (a graceful shutdown) and waits.
func (n *Node) Stop() { n.signal(syscall.SIGTERM) }

func (n *Node) signal(sig syscall.Signal) {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	n.cmd.Process.Signal(sig)
	select {
	case <-n.done:
	case <-time.After(30 * time.Second):
		n.cmd.Process.Kill()
		<-n.done
	}
	n.cmd = nil
}

// Running reports whether the process is up.
func (n *Node) Running() bool { return n.cmd != nil }

// Log returns the node's log so far.
func (n *Node) Log() string {
	b, _ := os.ReadFile(n.log)
	return string(b)
}

func (n *Node) dumpLog() {
	log := n.Log()
	if dir := os.Getenv("EMERGE_TEST_LOGS"); dir != "" {
		keep := filepath.Join(dir, "node-"+n.Ready.ID+".log")
		if os.WriteFile(keep, []byte(log), 0o644) == nil {
			n.t.Logf("full log of node %s kept in %s", n.Ready.ID, keep)
		}
	}
	if len(log) > 8000 {
		log = "...\n" + log[len(log)-8000:]
	}
	n.t.Logf("log of node %s (%s):\n%s", n.Ready.ID, n.DataDir, log)
}

// Result is the outcome of one CLI run.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// CLI runs the emerge binary with args (and stdin, may be nil).
func CLI(t testing.TB, bin string, stdin []byte, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	err := cmd.Run()
	r := Result{Stdout: out.String(), Stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run %s: %v", bin, err)
	}
	return r
}

// Start runs the emerge binary in the background; Wait returns its result.
func Start(t testing.TB, bin string, args ...string) *Running {
	t.Helper()
	cmd := exec.Command(bin, args...)
	r := &Running{cmd: cmd, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &r.out, &r.err
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			r.code = ee.ExitCode()
		}
		close(r.done)
	}()
	t.Cleanup(func() { cmd.Process.Kill(); <-r.done })
	return r
}

// Running is a CLI process started in the background.
type Running struct {
	cmd      *exec.Cmd
	out, err bytes.Buffer
	code     int
	done     chan struct{}
}

// Wait waits for the process and returns its result.
func (r *Running) Wait() Result {
	<-r.done
	return Result{Stdout: r.out.String(), Stderr: r.err.String(), Code: r.code}
}

// Exited reports whether the process has finished.
func (r *Running) Exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// FastArgs shorten the membership timers of test clusters.
var FastArgs = []string{"--heartbeat", "100ms", "--suspect-after", "400ms", "--dead-after", "1s", "--locate-timeout", "5s"}

// Cluster starts n `emerge node` processes with FastArgs and args, the
// first as seed of the others.
func Cluster(t testing.TB, bin string, n int, args ...string) []*Node {
	t.Helper()
	nodes := []*Node{StartNode(t, bin, append(append([]string{}, FastArgs...), args...)...)}
	for i := 1; i < n; i++ {
		nodes = append(nodes, Join(t, bin, nodes[0], args...))
	}
	return nodes
}

// Join starts one more node with FastArgs and args, joining through seed.
func Join(t testing.TB, bin string, seed *Node, args ...string) *Node {
	t.Helper()
	a := append(append(append([]string{}, FastArgs...), "--peers", seed.Ready.RPC), args...)
	return StartNode(t, bin, a...)
}

// shmDir returns a directory for a node's shared-memory tier on /dev/shm
// (the temp dir where there is none), in a fresh parent removed at cleanup:
// a node killed with SIGKILL cannot remove its files itself.
func shmDir(t testing.TB) string {
	t.Helper()
	base := "/dev/shm"
	if st, err := os.Stat(base); err != nil || !st.IsDir() {
		base = os.TempDir()
	}
	parent, err := os.MkdirTemp(base, "emerge-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(parent) })
	return filepath.Join(parent, "shm")
}
