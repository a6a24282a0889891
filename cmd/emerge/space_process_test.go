package main

import (
	"strings"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/internal/proctest"
	"github.com/emerge-dev/emerge/internal/testdata"
	"github.com/emerge-dev/emerge/internal/tmpfs"
)

// spaceDeadline bounds how long deleted space takes to come back to puts.
// A bound, not a speed check: the test logs what it measured.
const spaceDeadline = 3 * time.Minute

// The report's case with the built binary, as a user runs it: `emerge node
// --data-dir D --replicas 1` (a lone node; every other setting default:
// 256 MiB value-log files, 640 MiB reserve, gc_interval 5 min) on a 900 MiB
// filesystem, filled with `emerge put` until one exits 5 (no space); half
// removed with `emerge rm`; a new put succeeds within a bounded time. Then
// again, with the node stopped and started between the removals and the
// put. Every surviving object is byte-exact at the end.
func TestProcessSpaceComesBack(t *testing.T) {
	bin := proctest.Binary(t)
	disk := tmpfs.Mount(t, "900m")
	n := proctest.StartNode(t, bin, "--data-dir", disk, "--replicas", "1")
	dir := t.TempDir()
	const size = 8 << 20
	kept := map[string]uint64{} // ref -> seed
	seed := uint64(100)
	put := func() (ref string, code int) {
		in := writeFile(t, dir, seed, size)
		r := proctest.CLI(t, bin, nil, "--node", n.Ready.RPC, "put", in)
		if r.Code == 0 {
			ref = strings.TrimSpace(r.Stdout)
			kept[ref] = seed
		} else if r.Code != 5 {
			t.Fatalf("put: %+v", r)
		}
		seed++
		return ref, r.Code
	}
	round := func(restart bool) {
		var added []string
		for {
			ref, code := put()
			if code == 5 {
				break
			}
			added = append(added, ref)
		}
		if len(added) < 5 {
			t.Fatalf("only %d puts of 8 MiB before no space", len(added))
		}
		for _, ref := range added[:len(added)/2] {
			if r := proctest.CLI(t, bin, nil, "--node", n.Ready.RPC, "rm", ref); r.Code != 0 {
				t.Fatalf("rm on a full disk: %+v", r)
			}
			delete(kept, ref)
		}
		if restart {
			n.Stop()
			n.Start()
		}
		start := time.Now()
		for {
			if _, code := put(); code == 0 {
				break
			}
			if time.Since(start) > spaceDeadline {
				t.Fatalf("put still refused for space %s after removing half (restart %v)", spaceDeadline, restart)
			}
			time.Sleep(200 * time.Millisecond) // poll
		}
		t.Logf("restart %v: %d puts of 8 MiB until exit 5; %d removed; a put succeeded %s later",
			restart, len(added), len(added)/2, time.Since(start).Round(time.Millisecond))
	}
	round(false)
	round(true)
	out := dir + "/out"
	for ref, s := range kept {
		r := proctest.CLI(t, bin, nil, "--node", n.Ready.RPC, "get", ref, "-o", out)
		if r.Code != 0 || fileDigest(t, out) != testdata.Sum(s, size) {
			t.Fatalf("get %s after the rounds: %+v", ref, r)
		}
	}
}
