package registry

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

func TestSnapshotRoundTrip(t *testing.T) {
	r := newReg(t, "self", newClock(), func(c *Config) { c.Self.Groups = []string{"learner"} })
	r.MergeAll([]Member{mem("b", 4, "actor"), mem("a", 2), left(mem("c", 9, "x", "y"))})
	b, err := r.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	ms, err := DecodeSnapshot(b)
	if err != nil {
		t.Fatal(err)
	}
	var want []Member
	for _, st := range r.Members() {
		want = append(want, st.Member)
	}
	if !slices.EqualFunc(ms, want, Member.Equal) {
		t.Fatalf("decoded %+v\nwant %+v", ms, want)
	}
	b2, _ := r.Snapshot()
	if !bytes.Equal(b, b2) {
		t.Fatal("two snapshots of the same table differ")
	}
}

// TestRestart: a node restored from its snapshot beats its old record, knows
// the network at once (members Suspect, still live), and marks members Alive
// as it hears them; those it never hears die on schedule.
func TestRestart(t *testing.T) {
	clk := newClock()
	old := newReg(t, "self", clk)
	for range 5 {
		_, _ = old.JoinGroup("g" + string(rune('a'+old.Self().Incarnation)))
	}
	old.MergeAll([]Member{mem("a", 3, "actor"), mem("b", 1), left(mem("c", 2))})
	snap, err := old.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	oldSelf := old.Self()

	clk.Add(time.Minute)
	r := newReg(t, "self", clk, func(c *Config) { c.Self.RPC = "tcp://new:1" })
	if err := r.Restore(snap); err != nil {
		t.Fatal(err)
	}
	self := r.Self()
	if self.Incarnation != oldSelf.Incarnation+1 || self.RPC != "tcp://new:1" || len(self.Groups) != 0 {
		t.Fatalf("restored self %+v, want configured content at incarnation %d", self, oldSelf.Incarnation+1)
	}
	if !beats(self, oldSelf) {
		t.Fatal("the restored self record does not beat the old one")
	}
	want := map[string]State{"a": StateSuspect, "b": StateSuspect, "c": StateLeft, "self": StateAlive}
	checkStates(t, r, want)
	if got := ids(r.Live()); !slices.Equal(got, []string{"a", "b", "self"}) {
		t.Fatalf("Live after restore = %v", got)
	}
	if got := kinds(r.Events(0)); !slices.Equal(got, []EventKind{EventJoin, EventJoin}) {
		t.Fatalf("restore events %v, want two joins", got)
	}

	clk.Add(time.Second)
	if r.Heard("a", 3) {
		t.Fatal("heard a at its stored incarnation but was asked to pull")
	}
	want["a"] = StateAlive
	checkStates(t, r, want)
	r.Tick(clk.Add(dA - time.Second)) // DeadAfter since the restore
	want["a"], want["b"] = StateSuspect, StateDead
	checkStates(t, r, want)

	// A peer still holding the old self record takes the new one.
	peer := newReg(t, "peer", clk)
	peer.Merge(oldSelf)
	if !peer.Merge(self) {
		t.Fatal("a peer holding the old self record did not take the restored one")
	}
	if st, _ := peer.Get("self"); !st.Member.Equal(self) {
		t.Fatalf("peer holds %+v, want %+v", st.Member, self)
	}
}

func checkStates(t *testing.T, r *Registry, want map[string]State) {
	t.Helper()
	for id, s := range want {
		if st, ok := r.Get(id); !ok || st.State != s {
			t.Fatalf("%s: state %v (present %v), want %v", id, st.State, ok, s)
		}
	}
}

func TestRestoreLowerSnapshotKeepsIncarnation(t *testing.T) {
	r := newReg(t, "self", newClock(), func(c *Config) { c.Self.Incarnation = 50 })
	other := newReg(t, "self", newClock()) // incarnation 1
	snap, _ := other.Snapshot()
	if err := r.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if r.Self().Incarnation != 50 {
		t.Fatalf("incarnation %d after restoring an older self record, want 50", r.Self().Incarnation)
	}
}

func TestRestoreRejectsMalformed(t *testing.T) {
	good := func(ms ...memberWire) []byte {
		b, err := msgpack.Marshal(&snapshotWire{Version: SnapshotVersion, Members: ms})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	long := strings.Repeat("x", MaxString+1)
	cases := map[string][]byte{
		"empty":          nil,
		"garbage":        []byte("not msgpack"),
		"wrong version":  mustMarshal(t, []any{2, []any{}}),
		"short header":   mustMarshal(t, []any{1}),
		"trailing bytes": append(good(), 0xc0),
		"huge count":     append(mustMarshal(t, []any{1})[:1:1], 0x01, 0xdd, 0x7f, 0xff, 0xff, 0xff),
		"huge string":    append(mustMarshal(t, []any{1, []any{}})[:2:2], 0x91, 0x97, 0xdb, 0x7f, 0xff, 0xff, 0xff),
		"too many":       mustMarshal(t, []any{1, make([]any, MaxMembers+1)}),
		"empty id":       good(memberWire{ID: ""}),
		"long id":        good(memberWire{ID: long}),
		"long host":      good(memberWire{ID: "a", Host: long}),
		"long group":     good(memberWire{ID: "a", Groups: []string{long}}),
		"empty group":    good(memberWire{ID: "a", Groups: []string{""}}),
		"many groups":    good(memberWire{ID: "a", Groups: make([]string, MaxGroups+1)}),
		"short member":   mustMarshal(t, []any{1, []any{[]any{"a", "", "", "", nil, 1}}}),
		"member not arr": mustMarshal(t, []any{1, []any{"a"}}),
		"bad left":       mustMarshal(t, []any{1, []any{[]any{"a", "", "", "", nil, 1, "yes"}}}),
		"oversized":      make([]byte, MaxSnapshotBytes+1),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			r := newReg(t, "self", newClock())
			d := r.Digest()
			if err := r.Restore(b); !errors.Is(err, ErrBadSnapshot) {
				t.Fatalf("Restore: got %v, want ErrBadSnapshot", err)
			}
			if r.Digest() != d || r.Len() != 1 {
				t.Fatal("a rejected snapshot changed the table")
			}
		})
	}
}

func TestDecodeSnapshotAcceptsAppendedFields(t *testing.T) {
	b := mustMarshal(t, []any{1, []any{[]any{"a", "r", "p", "h", []string{"g"}, 3, false, "future"}}, "future"})
	ms, err := DecodeSnapshot(b)
	if err != nil {
		t.Fatal(err)
	}
	want := Member{ID: "a", RPC: "r", Pub: "p", Host: "h", Groups: []string{"g"}, Incarnation: 3}
	if len(ms) != 1 || !ms[0].Equal(want) {
		t.Fatalf("decoded %+v", ms)
	}
}

// TestSnapshotAtTheLimits checks the size bound against a record with every
// field at its limit, and that a table of MaxMembers decodes.
func TestSnapshotAtTheLimits(t *testing.T) {
	gs := make([]string, MaxGroups)
	for j := range gs {
		gs[j] = strings.Repeat("g", MaxString-8) + strconv.Itoa(10000000+j)
	}
	s := strings.Repeat("s", MaxString)
	biggest := Member{ID: s, RPC: s, Pub: s, Host: s, Groups: gs, Incarnation: math.MaxUint64 - 1, Left: true}
	one, err := encodeSnapshot([]Member{biggest})
	if err != nil {
		t.Fatal(err)
	}
	empty, _ := encodeSnapshot(nil)
	if worst := len(empty) + 4 + MaxMembers*(len(one)-len(empty)); worst > MaxSnapshotBytes {
		t.Fatalf("a full snapshot can take %d bytes, over MaxSnapshotBytes %d", worst, MaxSnapshotBytes)
	}
	if ms, err := DecodeSnapshot(one); err != nil || !ms[0].Equal(biggest) {
		t.Fatalf("the largest record does not round-trip: %v", err)
	}

	r := newReg(t, "m0", newClock())
	for i := 1; i < MaxMembers; i++ {
		r.Merge(mem("m"+strconv.Itoa(i), 1, "g"))
	}
	b, err := r.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if ms, err := DecodeSnapshot(b); err != nil || len(ms) != MaxMembers {
		t.Fatalf("decoding a full table: %d members, %v", len(ms), err)
	}
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := msgpack.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
