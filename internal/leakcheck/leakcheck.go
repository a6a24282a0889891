// Package leakcheck fails a test binary whose tests left goroutines of
// emerge (or of the libraries whose lifetimes emerge owns: Badger, ZeroMQ
// sockets) running after every test ended: each Close must wait for what
// it started.
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// watched are stack substrings of goroutines that must not outlive the
// tests that started them.
var watched = []string{"github.com/emerge-dev/emerge/", "github.com/dgraph-io/badger", "github.com/pebbe/zmq4"}

// ignored are stack substrings of goroutines that may: the test runner and
// this check.
var ignored = []string{"internal/leakcheck.", "testing.(*M).", "testing.tRunner", "testing.runFuzzTests",
	"runtime.goexit0", "os/signal."}

// Main runs the tests and then the leak check; use it as
// os.Exit(leakcheck.Main(m)) in TestMain.
func Main(m *testing.M) int {
	code := m.Run()
	if code != 0 {
		return code
	}
	if leaks := Wait(10 * time.Second); len(leaks) > 0 {
		fmt.Fprintf(os.Stderr, "leakcheck: %d goroutine(s) outlived the tests:\n\n%s\n", len(leaks), strings.Join(leaks, "\n\n"))
		return 1
	}
	return 0
}

// Wait polls for up to d until no watched goroutine runs and returns the
// stacks of those still running.
func Wait(d time.Duration) []string {
	deadline := time.Now().Add(d)
	for {
		leaks := find()
		if len(leaks) == 0 || time.Now().After(deadline) {
			return leaks
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func find() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if matches(g, watched) && !matches(g, ignored) {
			out = append(out, g)
		}
	}
	return out
}

func matches(stack string, subs []string) bool {
	for _, s := range subs {
		if strings.Contains(stack, s) {
			return true
		}
	}
	return false
}
