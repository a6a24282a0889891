package registry

import (
	"slices"
	"strconv"
	"testing"
	"time"
)

// step is one input to the state machine and what must follow. Every step
// first moves the clock by wait, then applies its op, then checks the
// events it produced and member "a"'s state and incarnation.
type step struct {
	wait  time.Duration
	op    string // merge, heard, tick
	m     Member // for merge
	inc   uint64 // for heard
	want  bool   // merge: changed; heard: needPull
	kinds []EventKind
	state State  // of "a"; 0 = absent from the table
	aInc  uint64 // of "a" when present
}

const (
	sA = 3 * time.Second  // SuspectAfter
	dA = 10 * time.Second // DeadAfter
	rA = time.Hour        // RemoveAfter
)

func TestStateMachine(t *testing.T) {
	cases := []struct {
		name  string
		steps []step
	}{
		{"join", []step{
			{op: "merge", m: mem("a", 1), want: true, kinds: []EventKind{EventJoin}, state: StateAlive, aInc: 1},
			{op: "merge", m: mem("a", 1), state: StateAlive, aInc: 1},
		}},
		{"older record ignored", []step{
			{op: "merge", m: mem("a", 2), want: true, kinds: []EventKind{EventJoin}, state: StateAlive, aInc: 2},
			{op: "merge", m: mem("a", 1, "g"), state: StateAlive, aInc: 2},
		}},
		{"newer record updates", []step{
			{op: "merge", m: mem("a", 1), want: true, kinds: []EventKind{EventJoin}, state: StateAlive, aInc: 1},
			{op: "merge", m: mem("a", 2, "g"), want: true, kinds: []EventKind{EventUpdate}, state: StateAlive, aInc: 2},
			{op: "merge", m: mem("a", 3, "g"), want: true, state: StateAlive, aInc: 3},
		}},
		{"suspect then alive", []step{
			{op: "merge", m: mem("a", 1), want: true, kinds: []EventKind{EventJoin}, state: StateAlive, aInc: 1},
			{wait: sA - time.Millisecond, op: "tick", state: StateAlive, aInc: 1},
			{wait: time.Millisecond, op: "tick", kinds: []EventKind{EventSuspect}, state: StateSuspect, aInc: 1},
			{op: "heard", inc: 0, state: StateSuspect, aInc: 1},
			{op: "heard", inc: 1, kinds: []EventKind{EventAlive}, state: StateAlive, aInc: 1},
			{wait: sA - time.Millisecond, op: "tick", state: StateAlive, aInc: 1},
		}},
		{"dead then heard again", []step{
			{op: "merge", m: mem("a", 1), want: true, kinds: []EventKind{EventJoin}, state: StateAlive, aInc: 1},
			{wait: sA, op: "tick", kinds: []EventKind{EventSuspect}, state: StateSuspect, aInc: 1},
			{wait: dA - sA, op: "tick", kinds: []EventKind{EventDead}, state: StateDead, aInc: 1},
			{op: "heard", inc: 1, kinds: []EventKind{EventRejoin}, state: StateAlive, aInc: 1},
		}},
		{"dead straight from alive", []step{
			{op: "merge", m: mem("a", 1), want: true, kinds: []EventKind{EventJoin}, state: StateAlive, aInc: 1},
			{wait: dA, op: "tick", kinds: []EventKind{EventDead}, state: StateDead, aInc: 1},
		}},
		{"restart with higher incarnation", []step{
			{op: "merge", m: mem("a", 1), want: true, kinds: []EventKind{EventJoin}, state: StateAlive, aInc: 1},
			{wait: dA, op: "tick", kinds: []EventKind{EventDead}, state: StateDead, aInc: 1},
			{op: "heard", inc: 2, want: true, kinds: []EventKind{EventRejoin}, state: StateAlive, aInc: 1},
			{op: "merge", m: mem("a", 2, "g"), want: true, kinds: []EventKind{EventUpdate}, state: StateAlive, aInc: 2},
		}},
		{"newer record revives the dead", []step{
			{op: "merge", m: mem("a", 1), want: true, kinds: []EventKind{EventJoin}, state: StateAlive, aInc: 1},
			{wait: dA, op: "tick", kinds: []EventKind{EventDead}, state: StateDead, aInc: 1},
			{op: "merge", m: mem("a", 2), want: true, kinds: []EventKind{EventRejoin}, state: StateAlive, aInc: 2},
		}},
		{"tie-break does not revive", []step{
			{op: "merge", m: mem("a", 1, "x"), want: true, kinds: []EventKind{EventJoin}, state: StateAlive, aInc: 1},
			{wait: dA, op: "tick", kinds: []EventKind{EventDead}, state: StateDead, aInc: 1},
			{op: "merge", m: mem("a", 1, "y"), want: true, kinds: []EventKind{EventUpdate}, state: StateDead, aInc: 1},
			{op: "merge", m: mem("a", 1, "x"), state: StateDead, aInc: 1},
		}},
		{"leave", []step{
			{op: "merge", m: mem("a", 1), want: true, kinds: []EventKind{EventJoin}, state: StateAlive, aInc: 1},
			{op: "merge", m: left(mem("a", 2)), want: true, kinds: []EventKind{EventLeave}, state: StateLeft, aInc: 2},
			{op: "heard", inc: 2, state: StateLeft, aInc: 2},
			{wait: dA, op: "tick", state: StateLeft, aInc: 2},
			{op: "heard", inc: 3, want: true, state: StateLeft, aInc: 2},
			{op: "merge", m: mem("a", 3), want: true, kinds: []EventKind{EventRejoin}, state: StateAlive, aInc: 3},
		}},
		{"left wins a tie", []step{
			{op: "merge", m: mem("a", 1), want: true, kinds: []EventKind{EventJoin}, state: StateAlive, aInc: 1},
			{op: "merge", m: left(mem("a", 1)), want: true, kinds: []EventKind{EventLeave}, state: StateLeft, aInc: 1},
			{op: "merge", m: mem("a", 1, "zzz"), state: StateLeft, aInc: 1},
		}},
		{"left member new to the table", []step{
			{op: "merge", m: left(mem("a", 4)), want: true, state: StateLeft, aInc: 4},
		}},
		{"unknown member heard", []step{
			{op: "heard", inc: 1, want: true},
			{op: "merge", m: mem("a", 1), want: true, kinds: []EventKind{EventJoin}, state: StateAlive, aInc: 1},
		}},
		{"prune and tombstone", []step{
			{op: "merge", m: mem("a", 5), want: true, kinds: []EventKind{EventJoin}, state: StateAlive, aInc: 5},
			{wait: dA, op: "tick", kinds: []EventKind{EventDead}, state: StateDead, aInc: 5},
			{wait: rA - time.Second, op: "tick", state: StateDead, aInc: 5},
			{wait: time.Second, op: "tick", kinds: []EventKind{EventRemove}},
			{op: "merge", m: mem("a", 5)},
			{op: "merge", m: mem("a", 6), want: true, kinds: []EventKind{EventJoin}, state: StateAlive, aInc: 6},
		}},
		{"heard clears tombstone", []step{
			{op: "merge", m: mem("a", 5), want: true, kinds: []EventKind{EventJoin}, state: StateAlive, aInc: 5},
			{wait: dA, op: "tick", kinds: []EventKind{EventDead}, state: StateDead, aInc: 5},
			{wait: rA, op: "tick", kinds: []EventKind{EventRemove}},
			{op: "merge", m: mem("a", 1)},
			{op: "heard", inc: 1, want: true},
			{op: "merge", m: mem("a", 1), want: true, kinds: []EventKind{EventJoin}, state: StateAlive, aInc: 1},
		}},
		{"tombstone expires", []step{
			{op: "merge", m: mem("a", 5), want: true, kinds: []EventKind{EventJoin}, state: StateAlive, aInc: 5},
			{wait: dA, op: "tick", kinds: []EventKind{EventDead}, state: StateDead, aInc: 5},
			{wait: rA, op: "tick", kinds: []EventKind{EventRemove}},
			{wait: rA, op: "tick"},
			{op: "merge", m: mem("a", 5), want: true, kinds: []EventKind{EventJoin}, state: StateAlive, aInc: 5},
		}},
		{"left member pruned", []step{
			{op: "merge", m: left(mem("a", 2)), want: true, state: StateLeft, aInc: 2},
			{wait: rA, op: "tick", kinds: []EventKind{EventRemove}},
		}},
		{"invalid records dropped", []step{
			{op: "merge", m: Member{ID: ""}},
			{op: "merge", m: Member{ID: "a", Groups: make([]string, MaxGroups+1)}},
			{op: "merge", m: Member{ID: "a", Host: string(make([]byte, MaxString+1))}},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runSteps(t, c.steps) })
	}
}

func runSteps(t *testing.T, steps []step) {
	clk := newClock()
	r := newReg(t, "self", clk)
	for i, s := range steps {
		seq := lastSeq(r)
		now := clk.Add(s.wait)
		var got bool
		switch s.op {
		case "merge":
			got = r.Merge(s.m)
		case "heard":
			got = r.Heard("a", s.inc)
		case "tick":
			evs := r.Tick(now)
			if !slices.Equal(kinds(evs), s.kinds) {
				t.Fatalf("step %d: Tick returned %v, want %v", i, kinds(evs), s.kinds)
			}
		}
		if got != s.want {
			t.Fatalf("step %d (%s): returned %v, want %v", i, s.op, got, s.want)
		}
		if k := kinds(r.Events(seq)); !slices.Equal(k, s.kinds) {
			t.Fatalf("step %d (%s): events %v, want %v", i, s.op, k, s.kinds)
		}
		checkA(t, i, r, s)
	}
}

func checkA(t *testing.T, i int, r *Registry, s step) {
	t.Helper()
	st, ok := r.Get("a")
	if s.state == 0 {
		if ok {
			t.Fatalf("step %d: a is in the table (%v), want absent", i, st.State)
		}
		return
	}
	if !ok || st.State != s.state || st.Incarnation != s.aInc {
		t.Fatalf("step %d: a = %v inc %d (present %v), want %v inc %d", i, st.State, st.Incarnation, ok, s.state, s.aInc)
	}
	if st.State.Live() != slices.Contains(ids(r.Live()), "a") {
		t.Fatalf("step %d: Live() disagrees with state %v", i, st.State)
	}
}

func TestSelfRefutesStaleRecords(t *testing.T) {
	clk := newClock()
	r := newReg(t, "self", clk)
	before := r.Self()
	if r.Merge(before) {
		t.Fatal("merging self's own record changed the table")
	}
	stale := mem("self", 7, "old")
	if !r.Merge(stale) {
		t.Fatal("a stale self record with a higher incarnation was not refuted")
	}
	self := r.Self()
	if self.Incarnation != 8 || self.RPC != before.RPC || len(self.Groups) != 0 {
		t.Fatalf("after refutation self = %+v", self)
	}
	if r.Merge(left(mem("self", 8))) != true || r.Self().Incarnation != 9 || r.Self().Left {
		t.Fatalf("a Left record about self at equal incarnation must be refuted, self = %+v", r.Self())
	}
	if r.Heard("self", 20) || r.Self().Incarnation != 21 {
		t.Fatalf("a heartbeat under self's id with incarnation 20 left self at %d", r.Self().Incarnation)
	}
	if st, _ := r.Get("self"); st.State != StateAlive {
		t.Fatalf("self state %v", st.State)
	}
	r.Tick(clk.Add(time.Hour))
	if st, _ := r.Get("self"); st.State != StateAlive {
		t.Fatalf("Tick aged self to %v", st.State)
	}
}

func TestMergeAllCounts(t *testing.T) {
	r := newReg(t, "self", newClock())
	n := r.MergeAll([]Member{mem("a", 1), mem("b", 1), mem("a", 1), {ID: ""}, mem("a", 2)})
	if n != 3 || r.Len() != 3 {
		t.Fatalf("MergeAll changed %d, table %d; want 3 and 3", n, r.Len())
	}
}

func TestMergeNormalisesAndCopies(t *testing.T) {
	r := newReg(t, "self", newClock())
	gs := []string{"b", "a", "b"}
	r.Merge(mem("x", 1, gs...))
	gs[0] = "mutated"
	st, _ := r.Get("x")
	if !slices.Equal(st.Groups, []string{"a", "b"}) {
		t.Fatalf("stored groups %v, want [a b] unaffected by the caller's slice", st.Groups)
	}
}

func TestTableCap(t *testing.T) {
	r := newReg(t, "self", newClock())
	for i := range MaxMembers + 10 {
		r.Merge(mem("m"+strconv.Itoa(i), 1))
	}
	if r.Len() != MaxMembers {
		t.Fatalf("table holds %d, cap %d", r.Len(), MaxMembers)
	}
}
