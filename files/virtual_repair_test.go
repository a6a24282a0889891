package files_test

import (
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/files"
	"github.com/emerge-dev/emerge/internal/vcluster"
)

// repairFast is the repair config of the virtual tests: seconds, not
// minutes.
func repairFast(streams int) func(int, *files.Config) {
	return func(_ int, c *files.Config) {
		c.Repair = files.RepairConfig{Delay: time.Second, Interval: 10 * time.Second, Streams: streams,
			ScrubInterval: -1}
	}
}

// durableCopies counts the running nodes holding an owner copy of id.
func durableCopies(c *vcluster.Cluster, id blocks.ID) int {
	n := 0
	for _, nd := range c.Live() {
		if uses, err := nd.Store.Holds([]blocks.ID{id}); err == nil && uses[0].Durable() {
			n++
		}
	}
	return n
}

// 10% of the nodes are killed: every block is back at its target on the
// survivors, each missing copy was made exactly once (no block copied
// twice), and no node ever pushed more than its stream cap at once.
func TestVirtualRepairAfterLosingTenPercent(t *testing.T) {
	const streams = 2
	n := scale()
	c := vcluster.New(t, n, vcluster.Options{Files: repairFast(streams)})
	var all []blocks.ID
	for i := 0; i < 20; i++ {
		_, m, _ := put(t, c.Nodes[(i*7)%n], uint64(100+i), 5*64<<10+i, files.PutOptions{Replicas: 3})
		all = append(all, m.Blocks...)
	}
	// A push canceled under load may have landed all the same, and the put
	// then made a copy more: repair trims it. Start from exactly 3.
	c.WaitFor(2*time.Minute, "every block at exactly 3 copies after the puts", func() bool {
		for _, id := range all {
			if durableCopies(c, id) != 3 {
				return false
			}
		}
		return true
	})
	// Repair may already have worked while the puts settled (a put that
	// returned under target under load): count only what the loss causes.
	repairCopies := func() (copies int64, maxStreams int) {
		for _, nd := range c.Live() {
			st := nd.Files.RepairStats()
			copies += st.Copies
			maxStreams = max(maxStreams, st.MaxInflight)
		}
		return copies, maxStreams
	}
	// Kill 10% of the nodes, drawn again if some block would lose every
	// copy: with replicas 3 that loses data, which no repair brings back.
	var killed map[int]bool
	for lost := true; lost; {
		killed = map[int]bool{}
		for len(killed) < n/10 {
			killed[c.Rand.IntN(n)] = true
		}
		lost = false
		for _, id := range all {
			survivors := 0
			for _, nd := range c.Live() {
				if uses, err := nd.Store.Holds([]blocks.ID{id}); err == nil && uses[0].Durable() && !killed[nd.Index] {
					survivors++
				}
			}
			lost = lost || survivors == 0
		}
	}
	for i := range killed {
		c.Kill(i)
	}
	before, _ := repairCopies()
	deficit := 0
	for _, id := range all {
		deficit += 3 - durableCopies(c, id)
	}
	t.Logf("killed %d of %d nodes: %d copies missing", len(killed), n, deficit)
	c.WaitFor(3*time.Minute, "every block back at 3 copies", func() bool {
		for _, id := range all {
			if durableCopies(c, id) < 3 {
				return false
			}
		}
		return true
	})
	copies, maxStreams := repairCopies()
	copies -= before
	t.Logf("repair made %d copies, at most %d pushes in flight on one node", copies, maxStreams)
	if copies != int64(deficit) {
		t.Errorf("repair made %d copies for %d missing: some block was copied twice", copies, deficit)
	}
	if maxStreams > streams {
		t.Errorf("a node had %d repair pushes in flight, cap %d", maxStreams, streams)
	}
	for _, id := range all {
		if got := durableCopies(c, id); got != 3 {
			t.Errorf("block %s: %d copies, want 3", id.Short(), got)
		}
	}
}
