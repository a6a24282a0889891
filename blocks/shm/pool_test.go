package shm

import "testing"

func TestBestFit(t *testing.T) {
	var p pool
	for _, n := range []int64{4 * mib, 64 * mib, 16 * mib} {
		p.push(&poolFile{name: "f", size: n})
	}
	for _, c := range []struct{ n, want int64 }{
		{0, -1},                // nothing to reuse for an empty object
		{10 * mib, 16 * mib},   // smallest that holds it
		{4 * mib, 4 * mib},     // exact
		{100 * mib, 64 * mib},  // none holds it: the longest
		{20 * mib, 16 * mib},   // 64 MiB is over twice 20: the longest shorter
		{100 << 10, -1},        // 4 MiB is over 2n + slack: fresh
		{3 * mib / 2, 4 * mib}, // 4 MiB is within 2n + slack
		{40 * mib, 64 * mib},   // within twice
		{31 * mib, 16 * mib},   // 64 MiB is over twice 31 MiB
	} {
		got := p.bestFit(c.n)
		if (got == nil) != (c.want < 0) || (got != nil && got.size != c.want) {
			t.Errorf("bestFit(%d) = %v, want %d", c.n, got, c.want)
		}
	}
	p.remove(p.bestFit(10 * mib))
	if p.bytes != 68*mib || len(p.files) != 2 || p.oldestExcept(p.files[0]) != p.files[1] {
		t.Fatalf("after remove: %+v", p)
	}
}
