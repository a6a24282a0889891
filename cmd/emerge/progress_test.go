package main

import (
	"strings"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/internal/nodetest"
)

func TestProgressLines(t *testing.T) {
	const mib = 1 << 20
	if got := barLine("put", 50*mib, 200*mib, 2*time.Second); got != "put 50.0 MiB / 200.0 MiB   25%  25.0 MiB/s  ETA 6s" {
		t.Errorf("bar: %q", got)
	}
	if got := barLine("get", 0, 200*mib, 0); !strings.HasSuffix(got, "ETA -") {
		t.Errorf("no rate yet: %q", got)
	}
	if got := barLine("put", 30*mib, -1, 3*time.Second); got != "put 30.0 MiB  10.0 MiB/s  3s" {
		t.Errorf("unknown size: %q", got)
	}
	if got := barLine("get", 10*mib, 1000*mib, 10*time.Second); !strings.HasSuffix(got, "ETA 16m30s") {
		t.Errorf("long ETA: %q", got)
	}
	s0, s1 := sealLine("put", 200*mib, 3200*time.Millisecond, 0), sealLine("put", 200*mib, 3300*time.Millisecond, 1)
	if !strings.Contains(s0, "sealing") || !strings.Contains(s0, "200.0 MiB") || !strings.HasSuffix(s0, "3.2s") ||
		strings.Contains(s0, "%") || !strings.ContainsRune(s0, spinner[0]) || !strings.ContainsRune(s1, spinner[1]) {
		t.Errorf("sealing: %q then %q", s0, s1)
	}
	if got := finalLine("put", 200*mib, 200*mib, 4*time.Second, true); got != "put 200.0 MiB in 4s  50.0 MiB/s" {
		t.Errorf("final: %q", got)
	}
	if got := finalLine("get", 5*mib, 200*mib, time.Second, false); !strings.Contains(got, "failed after 5.0 MiB of 200.0 MiB") {
		t.Errorf("failed: %q", got)
	}
}

// A shared-memory put starts sealing; a report below the total (the client
// streams after all) turns the bar back on; finish stops the spinner.
func TestProgressSealingState(t *testing.T) {
	var out strings.Builder
	p := newProgress(&out, "put", 64<<20)
	p.show = true // as on a terminal
	p.sealWait()
	nodetest.WaitFor(t, 10*time.Second, "the spinner", func() bool { return strings.Contains(p.snapshot(&out), "sealing") })
	p.set(1 << 20)
	p.mu.Lock()
	sealing := p.sealing
	p.mu.Unlock()
	if sealing {
		t.Fatal("still sealing after a streamed report")
	}
	p.finish(true)
	p.finish(true)
	if !strings.HasSuffix(p.snapshot(&out), "\n") {
		t.Fatalf("no final line: %q", out.String())
	}
}

// snapshot reads what was drawn, under the bar's lock (its writer).
func (p *progress) snapshot(b *strings.Builder) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return b.String()
}
