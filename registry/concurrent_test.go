package registry

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestConcurrentUse runs writers and readers at once; run it with -race.
// Afterwards the cached views must agree with the table.
func TestConcurrentUse(t *testing.T) {
	clk := newClock()
	ch := make(chan Event, 16)
	r := newReg(t, "self", clk, func(c *Config) { c.Notify = ch })
	const iters = 2000
	var wg sync.WaitGroup
	run := func(f func(i int)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range iters {
				f(i)
			}
		}()
	}
	run(func(i int) { r.Merge(mem("m"+strconv.Itoa(i%50), uint64(i/50+1), "g"+strconv.Itoa(i%3))) })
	run(func(i int) { r.Heard("m"+strconv.Itoa(i%60), uint64(i/60)) })
	run(func(i int) { r.Tick(clk.Add(100 * time.Millisecond)) })
	run(func(i int) { _, _ = r.JoinGroup("g" + strconv.Itoa(i%5)) })
	run(func(i int) {
		_ = r.Owners([32]byte{byte(i)}, 3)
		_ = r.InGroup("g1")
		_ = r.Digest()
	})
	run(func(i int) {
		if i%50 == 0 {
			b, err := r.Snapshot()
			if err == nil {
				_, err = DecodeSnapshot(b)
			}
			if err != nil {
				t.Error(err)
			}
		}
		_ = r.Members()
		_ = r.Events(uint64(i))
	})
	wg.Wait()
	var live []string
	for _, st := range r.Members() {
		if st.State.Live() {
			live = append(live, st.ID)
		}
	}
	if got := ids(r.Live()); !slices.Equal(got, live) {
		t.Fatalf("cached Live %v, table says %v", got, live)
	}
	if !slices.IsSortedFunc(r.Live(), func(a, b Member) int { return strings.Compare(a.ID, b.ID) }) {
		t.Fatal("Live is not sorted")
	}
}
