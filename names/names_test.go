package names

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
)

func ref(i int) blocks.Ref {
	var r blocks.Ref
	copy(r[:], fmt.Sprintf("ref-%d", i))
	return r
}

func open(t *testing.T, node string, st Storage, now func() time.Time) *Namespace {
	t.Helper()
	ns, err := Open(Config{Node: node, Storage: st, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

func TestValidatePath(t *testing.T) {
	good := []string{"/a", "/models/policy.bin", "/a/b/c.d", "/x y/é"}
	bad := []string{"", "a", "/", "/a/", "//a", "/a//b", "/a/../b", "/a/./b", "/a@3", "/a\nb",
		"/" + string(make([]byte, MaxSegment+1))}
	for _, p := range good {
		if err := ValidatePath(p); err != nil {
			t.Errorf("%q: %v", p, err)
		}
	}
	for _, p := range bad {
		if err := ValidatePath(p); !errors.Is(err, ErrBadPath) {
			t.Errorf("%q: want ErrBadPath, got %v", p, err)
		}
	}
	for in, want := range map[string]int{"/a": 0, "/a@1": 1, "/a/b@12": 12} {
		if _, v, err := ParseTarget(in); err != nil || v != want {
			t.Errorf("%q: version %d err %v", in, v, err)
		}
	}
	for _, in := range []string{"/a@", "/a@0", "/a@-1", "/a@x", "/a@1@2", "a@1"} {
		if _, _, err := ParseTarget(in); !errors.Is(err, ErrBadPath) {
			t.Errorf("%q: want ErrBadPath, got %v", in, err)
		}
	}
}

func TestHLCMonotonicUnderSkew(t *testing.T) {
	now := time.Unix(1000, 0)
	c := clock{now: func() time.Time { return now }}
	a := c.tick()
	b := c.tick()
	if b.Compare(a) <= 0 {
		t.Fatalf("%v after %v", b, a)
	}
	c.observe(HLC{Wall: now.Add(5 * time.Second).UnixMilli(), Logical: 7})
	d := c.tick()
	if d.Compare(HLC{Wall: now.Add(5 * time.Second).UnixMilli(), Logical: 7}) <= 0 {
		t.Fatalf("tick %v not after the observed reading", d)
	}
	if c.observe(HLC{Wall: now.Add(2 * maxDrift).UnixMilli()}) {
		t.Fatal("a reading two hours ahead was taken in")
	}
}

func TestVersionsAndRemove(t *testing.T) {
	ns := open(t, "n1", nil, nil)
	for i := 1; i <= 3; i++ {
		e, err := ns.Write(Entry{Path: "/m/p", Ref: ref(i)})
		if err != nil || e.Version != i {
			t.Fatalf("write %d: version %d, %v", i, e.Version, err)
		}
	}
	if e, err := ns.Resolve("/m/p", 0); err != nil || e.Ref != ref(3) || e.Version != 3 {
		t.Fatalf("latest: %+v %v", e, err)
	}
	if e, err := ns.Resolve("/m/p", 2); err != nil || e.Ref != ref(2) {
		t.Fatalf("@2: %+v %v", e, err)
	}
	if _, err := ns.Resolve("/m/p", 9); !errors.Is(err, ErrNotFound) {
		t.Fatalf("@9: %v", err)
	}
	if _, err := ns.Write(Entry{Path: "/m/p", Tombstone: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := ns.Resolve("/m/p", 0); !errors.Is(err, ErrRemoved) || !errors.Is(err, blocks.ErrDeleted) {
		t.Fatalf("after rm: %v", err)
	}
	if _, err := ns.Resolve("/m/p", 2); err != nil {
		t.Fatalf("@2 after plain rm: %v", err)
	}
	if !ns.Named(ref(2)) {
		t.Fatal("a version hidden by a plain rm no longer names its object")
	}
	if _, err := ns.Write(Entry{Path: "/m/p", Tombstone: true, AllVersions: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := ns.Resolve("/m/p", 2); !errors.Is(err, ErrRemoved) {
		t.Fatalf("@2 after rm --all-versions: %v", err)
	}
	if ns.Named(ref(2)) {
		t.Fatal("erased version still names its object")
	}
	if _, err := ns.Write(Entry{Path: "/m/p", Ref: ref(9)}); err != nil {
		t.Fatal(err)
	}
	if e, err := ns.Resolve("/m/p", 0); err != nil || e.Version != 6 {
		t.Fatalf("bind after rm: %+v %v", e, err)
	}
}

func TestListAndTTL(t *testing.T) {
	now := time.Unix(5000, 0)
	ns := open(t, "n1", nil, func() time.Time { return now })
	for _, p := range []string{"/m/a", "/m/b", "/m/sub/c", "/m/sub/deep/d", "/other"} {
		if _, err := ns.Write(Entry{Path: p, Ref: ref(1)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ns.Write(Entry{Path: "/m/tmp", Ref: ref(2), TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	paths := func(items []Item) (out []string) {
		for _, it := range items {
			out = append(out, it.Path)
		}
		return out
	}
	items, _ := ns.List("/m/", false)
	if got := paths(items); !slices.Equal(got, []string{"/m/a", "/m/b", "/m/sub/", "/m/tmp"}) {
		t.Fatalf("ls /m/: %v", got)
	}
	items, _ = ns.List("/m/", true)
	if got := paths(items); !slices.Equal(got, []string{"/m/a", "/m/b", "/m/sub/c", "/m/sub/deep/d", "/m/tmp"}) {
		t.Fatalf("ls -r /m/: %v", got)
	}
	items, _ = ns.List("/", false)
	if got := paths(items); !slices.Equal(got, []string{"/m/", "/other"}) {
		t.Fatalf("ls /: %v", got)
	}
	now = now.Add(2 * time.Minute)
	if _, err := ns.Resolve("/m/tmp", 0); !errors.Is(err, ErrRemoved) {
		t.Fatalf("expired: %v", err)
	}
	items, _ = ns.List("/m/", false)
	if got := paths(items); slices.Contains(got, "/m/tmp") {
		t.Fatalf("expired name listed: %v", got)
	}
	if _, err := ns.List("m/", false); !errors.Is(err, ErrBadPath) {
		t.Fatalf("relative prefix: %v", err)
	}
}

// randomEntries writes n entries on w writers with skewed clocks.
func randomEntries(t *testing.T, rng *rand.Rand, writers, n int) []Entry {
	var all []Entry
	base := time.Unix(10000, 0)
	var nss []*Namespace
	for w := 0; w < writers; w++ {
		skew := time.Duration(rng.IntN(10000)-5000) * time.Millisecond
		nss = append(nss, open(t, fmt.Sprintf("w%d", w), nil, func() time.Time { return base.Add(skew) }))
	}
	for i := 0; i < n; i++ {
		ns := nss[rng.IntN(writers)]
		e := Entry{Path: fmt.Sprintf("/d%d/p%d", rng.IntN(3), rng.IntN(8)), Ref: ref(rng.IntN(20))}
		if rng.IntN(4) == 0 {
			e.Keep = 1 + rng.IntN(3)
		}
		if rng.IntN(5) == 0 {
			e.KeepFor = time.Duration(1+rng.IntN(5)) * time.Second
		}
		if rng.IntN(6) == 0 {
			e = Entry{Path: e.Path, Tombstone: true, AllVersions: rng.IntN(2) == 0}
		}
		got, err := ns.Write(e)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, got)
		if rng.IntN(3) == 0 { // writers hear each other now and then
			other := nss[rng.IntN(writers)]
			other.Merge([]Entry{got})
		}
	}
	return all
}

func snapshot(t *testing.T, ns *Namespace) string {
	items, err := ns.List("/", true)
	if err != nil {
		t.Fatal(err)
	}
	s := fmt.Sprint(ns.Digests())
	for _, it := range items {
		vs, _ := ns.Versions(it.Path)
		for _, v := range vs {
			s += fmt.Sprintf("|%s@%d %x %v %v", v.Path, v.Version, v.Ref[:4], v.Tombstone, v.Erased)
		}
	}
	return s
}

// Merge is commutative and idempotent: any order, with repeats, in any
// batches, gives the same namespace (digests, versions, resolutions).
func TestMergeConvergesInAnyOrder(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		all := randomEntries(t, rng, 4, 200)
		var want string
		for trial := 0; trial < 4; trial++ {
			ns := open(t, "r", nil, func() time.Time { return time.Unix(10000, 0) })
			order := slices.Clone(all)
			rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			order = append(order, order[:rng.IntN(len(order))]...) // repeats
			for len(order) > 0 {
				k := min(len(order), 1+rng.IntN(30))
				if _, err := ns.Merge(order[:k]); err != nil {
					t.Fatal(err)
				}
				order = order[k:]
			}
			got := snapshot(t, ns)
			if trial == 0 {
				want = got
			} else if got != want {
				t.Fatalf("seed %d: merge order changed the namespace", seed)
			}
			if ns.Len() != len(all) {
				t.Fatalf("seed %d: %d entries, want %d", seed, ns.Len(), len(all))
			}
		}
	}
}

func TestMergeRejectsBadEntries(t *testing.T) {
	ns := open(t, "n", nil, nil)
	bad := []Entry{
		{Path: "rel", Ref: ref(1), Writer: "w"},
		{Path: "/a", Writer: "w"}, // neither ref nor tombstone
		{Path: "/a", Ref: ref(1)}, // no writer
		{Path: "/a", Ref: ref(1), Writer: "w", TTL: -1},
	}
	added, err := ns.Merge(append(bad, Entry{Path: "/ok", Ref: ref(1), Writer: "w", HLC: HLC{Wall: 1}}))
	if len(added) != 1 || !errors.Is(err, ErrBadPath) {
		t.Fatalf("added %d, err %v", len(added), err)
	}
}

// memStorage is a Storage in memory.
type memStorage struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *memStorage) GetMeta(name string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[name]
	if !ok {
		return nil, blocks.ErrNotFound
	}
	return slices.Clone(v), nil
}

func (s *memStorage) PutMeta(name string, val []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string][]byte{}
	}
	s.m[name] = slices.Clone(val)
	return nil
}

func TestPersistReopen(t *testing.T) {
	st := &memStorage{}
	rng := rand.New(rand.NewPCG(3, 3))
	all := randomEntries(t, rng, 3, 100)
	ns := open(t, "n", st, nil)
	if _, err := ns.Merge(all); err != nil {
		t.Fatal(err)
	}
	e, err := ns.Write(Entry{Path: "/local", Ref: ref(1), TTL: time.Hour, ContentType: "x/y", Mode: 0o640})
	if err != nil {
		t.Fatal(err)
	}
	want := snapshot(t, ns)
	again := open(t, "n", st, nil)
	if got := snapshot(t, again); got != want {
		t.Fatal("reopened namespace differs")
	}
	got, err := again.Resolve("/local", 0)
	if err != nil || got.Key() != e.Key() || got.TTL != time.Hour || got.Mode != 0o640 || got.ContentType != "x/y" ||
		!got.Created.Equal(e.Created) || got.Owner != e.Owner {
		t.Fatalf("reopened entry %+v, wrote %+v (%v)", got, e, err)
	}
	// The clock reads past the entries read back.
	if next, _ := again.Write(Entry{Path: "/local", Ref: ref(2)}); next.Version != 2 {
		t.Fatalf("write after reopen is version %d", next.Version)
	}
}

func FuzzDecodeEntries(f *testing.F) {
	b, _ := EncodeEntries([]Entry{{Path: "/a", Ref: ref(1), Writer: "w", HLC: HLC{Wall: 5}}})
	f.Add(b)
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := DecodeEntries(b)
		if err != nil {
			return
		}
		ns := open(t, "n", nil, nil)
		ns.Merge(entries)
	})
}

var _ = context.Background

// A keep count erases versions by rank: keep=2 over 5 bindings leaves the
// newest 2; an entry merged later in between erases more, never brings a
// version back; objects another path names stay named.
func TestKeepErasesByRank(t *testing.T) {
	now := time.Unix(20000, 0)
	clockNow := func() time.Time { return now }
	a := open(t, "a", nil, clockNow)
	for i := 1; i <= 5; i++ {
		if _, err := a.Write(Entry{Path: "/k/p", Ref: ref(i), Keep: 2}); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Second)
	}
	if _, err := a.Write(Entry{Path: "/k/other", Ref: ref(2)}); err != nil {
		t.Fatal(err)
	}
	vs, err := a.Versions("/k/p")
	if err != nil {
		t.Fatal(err)
	}
	var erased []int
	for _, v := range vs {
		if v.Erased {
			erased = append(erased, v.Version)
		}
	}
	if !slices.Equal(erased, []int{1, 2, 3}) {
		t.Fatalf("erased versions %v, want 1 2 3", erased)
	}
	if _, err := a.Resolve("/k/p", 3); !errors.Is(err, ErrRemoved) {
		t.Fatalf("/k/p@3: %v", err)
	}
	if e, err := a.Resolve("/k/p", 4); err != nil || e.Ref != ref(4) {
		t.Fatalf("/k/p@4: %v", err)
	}
	un := a.Unnamed(nil)
	if len(un) != 2 || un[ref(1)] == nil || un[ref(3)] == nil || a.Named(ref(1)) || !a.Named(ref(2)) {
		t.Fatalf("unnamed %v", un)
	}
	// A binding from another writer ordered between versions 4 and 5
	// (keep 0) makes version 4 the third newest binding before 5: erased.
	b := open(t, "b", nil, func() time.Time { return time.Unix(20003, 500e6) })
	late, err := b.Write(Entry{Path: "/k/p", Ref: ref(9)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Merge([]Entry{late}); err != nil {
		t.Fatal(err)
	}
	vs, _ = a.Versions("/k/p")
	live := 0
	for _, v := range vs {
		if !v.Erased {
			live++
		}
	}
	if live != 2 || !vs[0].Erased || vs[len(vs)-1].Ref != ref(5) || vs[len(vs)-2].Ref != ref(9) {
		t.Fatalf("after a late merge: %d live of %d", live, len(vs))
	}
}

// KeepFor erases the versions created longer than it before a later
// binding carrying it; the newest always stays.
func TestKeepForErasesByAge(t *testing.T) {
	now := time.Unix(30000, 0)
	a := open(t, "a", nil, func() time.Time { return now })
	for i := 1; i <= 4; i++ {
		if _, err := a.Write(Entry{Path: "/age/p", Ref: ref(i), KeepFor: 90 * time.Minute}); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Hour)
	}
	vs, err := a.Versions("/age/p")
	if err != nil {
		t.Fatal(err)
	}
	var erased []int
	for _, v := range vs {
		if v.Erased {
			erased = append(erased, v.Version)
		}
	}
	if !slices.Equal(erased, []int{1, 2}) {
		t.Fatalf("erased %v, want 1 2", erased)
	}
	// Round trip on the wire keeps it.
	b, err := EncodeEntries(vs)
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeEntries(b)
	if err != nil || back[3].KeepFor != 90*time.Minute {
		t.Fatalf("decoded %v %v", back, err)
	}
}
