package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/internal/proctest"
	"github.com/emerge-dev/emerge/internal/zmtptest"
)

// 200k distinct subscriptions at a real node's PUB port: its RSS (from
// /proc) stays bounded during the flood and after the subscriber is gone.
// Unguarded, the same flood grew a node from 80 MB to 649 MB, kept for good.
func TestProcessSubscriptionFloodRSS(t *testing.T) {
	n := proctest.StartNode(t, proctest.Binary(t))
	pid := pidOf(t, n.DataDir)
	base := rssOf(t, pid)
	s, err := zmtptest.DialSub(n.Ready.Pub)
	if err != nil {
		t.Fatal(err)
	}
	sent := make(chan error, 1)
	go func() { sent <- s.Flood(200000, 32, 7) }()
	peak := base
	deadline := time.Now().Add(2 * time.Minute)
	for flooding := true; flooding; {
		select {
		case err := <-sent:
			t.Logf("flood ended: %v", err)
			flooding = false
		case <-time.After(10 * time.Millisecond):
			if time.Now().After(deadline) {
				t.Fatal("the flood neither ended nor was cut")
			}
		}
		peak = max(peak, rssOf(t, pid))
	}
	s.Close()
	r := runCLI(t, nil, "--node="+n.Ready.RPC, "info") // the node still serves
	after := rssOf(t, pid)
	t.Logf("node RSS: base %d MiB, peak %d MiB, after %d MiB", base>>20, peak>>20, after>>20)
	if r.code != 0 {
		t.Fatalf("info after the flood: %+v", r)
	}
	if peak-base > 64<<20 || after-base > 64<<20 {
		t.Fatalf("node RSS grew from %d MiB to %d MiB (after: %d MiB), want under 64 MiB of growth", base>>20, peak>>20, after>>20)
	}
}

// pidOf finds the `emerge node` process running on dataDir.
func pidOf(t *testing.T, dataDir string) int {
	t.Helper()
	want := []byte("--data-dir\x00" + dataDir + "\x00")
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		if b, err := os.ReadFile(filepath.Join(d, "cmdline")); err == nil && bytes.Contains(b, want) {
			pid, _ := strconv.Atoi(filepath.Base(d))
			return pid
		}
	}
	t.Fatalf("no process runs on %s", dataDir)
	return 0
}

// rssOf reads a process's resident set size from /proc.
func rssOf(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "statm"))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}
