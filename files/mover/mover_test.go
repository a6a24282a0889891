package mover

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
)

// fakeNet is a set of peers for transfers: each holds some blocks, may
// fail, hang or be declared not alive.
type fakeNet struct {
	mu       sync.Mutex
	holds    map[string]map[blocks.ID]bool
	broken   map[string]bool // answers with an unreachable error
	hang     map[string]bool // never answers (until ctx ends)
	notAlive map[string]bool
	got      map[blocks.ID][]string // peers each block moved with
	inflight map[string]int
	maxPeer  map[string]int
	active   atomic.Int64
	maxAll   atomic.Int64
	calls    map[string]int
}

var errUnreachable = errors.New("unreachable")

func newFakeNet() *fakeNet {
	return &fakeNet{holds: map[string]map[blocks.ID]bool{}, broken: map[string]bool{}, hang: map[string]bool{},
		notAlive: map[string]bool{}, got: map[blocks.ID][]string{}, inflight: map[string]int{}, maxPeer: map[string]int{},
		calls: map[string]int{}}
}

func (f *fakeNet) hold(peer string, ids ...blocks.ID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.holds[peer] == nil {
		f.holds[peer] = map[blocks.ID]bool{}
	}
	for _, id := range ids {
		f.holds[peer][id] = true
	}
}

func (f *fakeNet) set(m map[string]bool, peer string, v bool) {
	f.mu.Lock()
	m[peer] = v
	f.mu.Unlock()
}

func (f *fakeNet) alive(peer string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.notAlive[peer]
}

// transfer pulls id from peer (push: every peer accepts when holds is nil).
func (f *fakeNet) transfer(ctx context.Context, peer string, id blocks.ID) error {
	if n := f.active.Add(1); n > f.maxAll.Load() {
		f.maxAll.Store(n)
	}
	defer f.active.Add(-1)
	f.mu.Lock()
	f.calls[peer]++
	f.inflight[peer]++
	f.maxPeer[peer] = max(f.maxPeer[peer], f.inflight[peer])
	hang, broken, has := f.hang[peer], f.broken[peer], f.holds[peer] == nil || f.holds[peer][id]
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inflight[peer]--
		f.mu.Unlock()
	}()
	switch {
	case hang:
		<-ctx.Done()
		return ctx.Err()
	case broken:
		return errUnreachable
	case !has:
		return fmt.Errorf("%w: %s lacks %s", blocks.ErrNotFound, peer, id.Short())
	}
	f.mu.Lock()
	f.got[id] = append(f.got[id], peer)
	f.mu.Unlock()
	return nil
}

// testPolicy: fixed candidates per block, windows per tier, optional
// read-ahead gate.
type testPolicy struct {
	cands   func(id blocks.ID) []Candidate
	windows map[int]int
	ready   func(id blocks.ID) bool
	landed  []blocks.ID
	ab      []blocks.ID
}

func (p *testPolicy) Candidates(id blocks.ID) []Candidate { return p.cands(id) }
func (p *testPolicy) Window(tier int) int {
	if w, ok := p.windows[tier]; ok {
		return w
	}
	return 4
}
func (p *testPolicy) Ready(id blocks.ID) bool {
	return p.ready == nil || p.ready(id)
}
func (p *testPolicy) Landed(id blocks.ID, peer string) { p.landed = append(p.landed, id) }
func (p *testPolicy) Abandoned(id blocks.ID, landed int, err error) {
	p.ab = append(p.ab, id)
}

func ids(n int) []blocks.ID {
	out := make([]blocks.ID, n)
	for i := range out {
		out[i] = blocks.Sum([]byte(fmt.Sprint("block", i)))
	}
	return out
}

func items(xs []blocks.ID, copies int) []Item {
	out := make([]Item, len(xs))
	for i, id := range xs {
		out[i] = Item{ID: id, Size: 1 << 20, Copies: copies}
	}
	return out
}

func tier0(peers ...string) func(blocks.ID) []Candidate {
	return func(blocks.ID) []Candidate {
		out := make([]Candidate, len(peers))
		for i, p := range peers {
			out[i] = Candidate{Peer: p}
		}
		return out
	}
}

func run(t *testing.T, cfg Config, its []Item) (*Mover, error) {
	t.Helper()
	m, err := New(cfg, its)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = m.Run(ctx)
	return m, err
}

func TestMovesEveryBlockOnceWithinWindows(t *testing.T) {
	f := newFakeNet()
	xs := ids(200)
	for _, p := range []string{"a", "b", "c"} {
		f.hold(p, xs...)
	}
	pol := &testPolicy{cands: tier0("a", "b", "c"), windows: map[int]int{0: 3}}
	m, err := run(t, Config{Policy: pol, Transfer: f.transfer, Alive: f.alive}, items(xs, 1))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range xs {
		if len(f.got[id]) != 1 {
			t.Fatalf("block %s moved %d times", id.Short(), len(f.got[id]))
		}
	}
	for p, n := range f.maxPeer {
		if n > 3 {
			t.Fatalf("peer %s had %d transfers in flight, window 3", p, n)
		}
	}
	if f.calls["a"] == 0 || f.calls["b"] == 0 || f.calls["c"] == 0 {
		t.Fatalf("load not spread: %v", f.calls)
	}
	if st := m.Stats(); st.Landed != 200 || len(pol.landed) != 200 || f.active.Load() != 0 {
		t.Fatalf("stats %+v, landed %d, transfers still running %d", st, len(pol.landed), f.active.Load())
	}
}

func TestFailoverSkipsAFaultyPeer(t *testing.T) {
	f := newFakeNet()
	xs := ids(50)
	f.hold("good", xs...)
	f.hold("bad", xs...)
	f.set(f.broken, "bad", true)
	pol := &testPolicy{cands: tier0("bad", "good")}
	if _, err := run(t, Config{Policy: pol, Transfer: f.transfer}, items(xs, 1)); err != nil {
		t.Fatal(err)
	}
	if f.calls["bad"] > 4 { // at most its first window before the first error
		t.Fatalf("faulty peer asked %d times", f.calls["bad"])
	}
	if len(f.got) != 50 {
		t.Fatalf("%d of 50 blocks moved", len(f.got))
	}
}

// A peer that lacks one block stays usable for the others: block 0 goes on
// to the full holder, and the rest, which only the partial holder is asked
// for, still move.
func TestMissingBlockTriesOtherHolders(t *testing.T) {
	f := newFakeNet()
	xs := ids(10)
	f.hold("partial", xs[1:]...)
	f.hold("full", xs[0])
	pol := &testPolicy{windows: map[int]int{0: 1}, cands: func(id blocks.ID) []Candidate {
		if id == xs[0] {
			return []Candidate{{Peer: "partial"}, {Peer: "full", Tier: 1}}
		}
		return []Candidate{{Peer: "partial"}}
	}}
	if _, err := run(t, Config{Policy: pol, Transfer: f.transfer}, items(xs, 1)); err != nil {
		t.Fatal(err)
	}
	if len(f.got) != 10 || f.got[xs[0]][0] != "full" {
		t.Fatalf("%d of 10 moved; block 0 from %v", len(f.got), f.got[xs[0]])
	}
}

// A peer that hangs is moved away from as soon as it is no longer alive,
// long before the transfer timeout.
func TestLivenessCancelsTransfersToAFrozenPeer(t *testing.T) {
	f := newFakeNet()
	xs := ids(20)
	f.hold("frozen", xs...)
	f.hold("ok", xs...)
	f.set(f.hang, "frozen", true)
	pol := &testPolicy{cands: tier0("frozen", "ok"), windows: map[int]int{0: 4}}
	m, err := New(Config{Policy: pol, Transfer: f.transfer, Alive: f.alive, Timeout: time.Hour, Check: time.Millisecond},
		items(xs, 1))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(context.Background()) }()
	waitFor(t, "a transfer to the frozen peer", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.inflight["frozen"] > 0
	})
	f.set(f.notAlive, "frozen", true) // the registry calls it suspect
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(f.got) != 20 || f.inflight["frozen"] != 0 {
		t.Fatalf("%d moved, %d still in flight to the frozen peer", len(f.got), f.inflight["frozen"])
	}
}

func TestWhoHasFindsHolders(t *testing.T) {
	f := newFakeNet()
	xs := ids(3)
	f.hold("far", xs...)
	located := 0
	locate := func(ctx context.Context, want []blocks.ID, wait time.Duration) map[blocks.ID][]string {
		located++
		out := map[blocks.ID][]string{}
		for _, id := range want {
			out[id] = []string{"far"}
		}
		return out
	}
	pol := &testPolicy{cands: tier0()}
	m, err := run(t, Config{Policy: pol, Transfer: f.transfer, Locate: locate}, items(xs, 1))
	if err != nil || len(f.got) != 3 || m.Stats().Located != 1 {
		t.Fatalf("err %v, moved %d, located %d", err, len(f.got), m.Stats().Located)
	}
}

func TestStuckFailsAfterNoProgress(t *testing.T) {
	f := newFakeNet()
	xs := ids(2)
	f.hold("a", xs[0])
	locate := func(ctx context.Context, want []blocks.ID, wait time.Duration) map[blocks.ID][]string {
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		return nil
	}
	pol := &testPolicy{cands: tier0("a")}
	_, err := run(t, Config{Policy: pol, Transfer: f.transfer, Locate: locate, NoProgress: 50 * time.Millisecond}, items(xs, 1))
	if !errors.Is(err, ErrStuck) || !errors.Is(err, blocks.ErrNotFound) {
		t.Fatalf("stuck block: %v", err)
	}
}

// Seeds (tier 1) are used only for blocks no peer of tier 0 can give; a
// block whose peers are busy waits for them.
func TestTiersPreferPeersOverSeeds(t *testing.T) {
	f := newFakeNet()
	xs := ids(40)
	f.hold("peer", xs[:20]...)
	f.hold("seed", xs...)
	pol := &testPolicy{windows: map[int]int{0: 2, 1: 2}, cands: func(id blocks.ID) []Candidate {
		c := []Candidate{{Peer: "seed", Tier: 1}}
		for _, x := range xs[:20] {
			if x == id {
				c = append(c, Candidate{Peer: "peer"})
			}
		}
		return c
	}}
	if _, err := run(t, Config{Policy: pol, Transfer: f.transfer}, items(xs, 1)); err != nil {
		t.Fatal(err)
	}
	for i, id := range xs {
		want := "seed"
		if i < 20 {
			want = "peer"
		}
		if got := f.got[id]; len(got) != 1 || got[0] != want {
			t.Fatalf("block %d moved with %v, want %s", i, got, want)
		}
	}
}

// Pushes of two copies go to the two best-ranked peers that accept them;
// one that fails is passed over for the next.
func TestCopiesGoToDistinctPeersInRankOrder(t *testing.T) {
	f := newFakeNet()
	f.set(f.broken, "r0", true)
	xs := ids(5)
	pol := &testPolicy{cands: func(blocks.ID) []Candidate {
		return []Candidate{{"r0", 0}, {"r1", 1}, {"r2", 2}, {"r3", 3}}
	}}
	if _, err := run(t, Config{Policy: pol, Transfer: f.transfer}, items(xs, 2)); err != nil {
		t.Fatal(err)
	}
	for _, id := range xs {
		got := f.got[id]
		if len(got) != 2 || got[0] == got[1] || got[0] == "r0" || got[0] == "r3" || got[1] == "r3" {
			t.Fatalf("copies of %s at %v, want r1 and r2", id.Short(), got)
		}
	}
}

func TestSkipStuckAbandonsAndMovesTheRest(t *testing.T) {
	f := newFakeNet()
	xs := ids(4)
	f.hold("a", xs[1:]...)
	pol := &testPolicy{cands: tier0("a")}
	m, err := run(t, Config{Policy: pol, Transfer: f.transfer, SkipStuck: true}, items(xs, 1))
	if err != nil || len(f.got) != 3 || len(pol.ab) != 1 || pol.ab[0] != xs[0] || m.Stats().Abandoned != 1 {
		t.Fatalf("err %v, moved %d, abandoned %v", err, len(f.got), pol.ab)
	}
}

func TestMaxInflightCapsAllPeers(t *testing.T) {
	f := newFakeNet()
	xs := ids(100)
	peers := []string{"a", "b", "c", "d", "e"}
	for _, p := range peers {
		f.hold(p, xs...)
	}
	pol := &testPolicy{cands: tier0(peers...), windows: map[int]int{0: 8}}
	m, err := run(t, Config{Policy: pol, Transfer: f.transfer, MaxInflight: 3}, items(xs, 1))
	if err != nil || f.maxAll.Load() > 3 || m.Stats().MaxInflight > 3 {
		t.Fatalf("err %v, %d in flight at most (cap 3)", err, f.maxAll.Load())
	}
}

func TestReadAheadGatesAndIdleEnds(t *testing.T) {
	f := newFakeNet()
	xs := ids(30)
	f.hold("a", xs...)
	var mu sync.Mutex
	limit := 5
	pos := map[blocks.ID]int{}
	for i, id := range xs {
		pos[id] = i
	}
	pol := &testPolicy{cands: tier0("a"), ready: func(id blocks.ID) bool {
		mu.Lock()
		defer mu.Unlock()
		return pos[id] < limit
	}}
	_, err := run(t, Config{Policy: pol, Transfer: f.transfer, Idle: 20 * time.Millisecond, Check: 5 * time.Millisecond},
		items(xs, 1))
	if !errors.Is(err, ErrIdle) || len(f.got) != 5 {
		t.Fatalf("err %v, moved %d, want ErrIdle after 5", err, len(f.got))
	}
}

func TestLimiterSpendsAndWaits(t *testing.T) {
	now := time.Unix(0, 0)
	l := NewLimiter(1000, 1000)
	l.now = func() time.Time { return now }
	if d := l.take(600); d != 0 {
		t.Fatalf("first take waits %s", d)
	}
	if d := l.take(600); d != 200*time.Millisecond {
		t.Fatalf("second take waits %s, want 200ms", d)
	}
	now = now.Add(200 * time.Millisecond)
	if d := l.take(600); d != 0 {
		t.Fatalf("after refilling: %s", d)
	}
	if NewLimiter(0, 0).take(1<<30) != 0 {
		t.Fatal("a nil limiter must allow everything")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
