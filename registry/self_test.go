package registry

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestSelfUpdates(t *testing.T) {
	r := newReg(t, "self", newClock())
	inc := r.Self().Incarnation
	d0 := r.Digest()

	m, err := r.SetGroups([]string{"b", "a", "b"})
	if err != nil || !slices.Equal(m.Groups, []string{"a", "b"}) || m.Incarnation != inc+1 {
		t.Fatalf("SetGroups: %+v, %v", m, err)
	}
	if r.Digest() == d0 {
		t.Fatal("digest unchanged after SetGroups")
	}
	if m, _ = r.SetGroups([]string{"a", "b"}); m.Incarnation != inc+1 {
		t.Fatalf("SetGroups with the same groups bumped the incarnation to %d", m.Incarnation)
	}
	if m, _ = r.JoinGroup("c"); !slices.Equal(m.Groups, []string{"a", "b", "c"}) || m.Incarnation != inc+2 {
		t.Fatalf("JoinGroup: %+v", m)
	}
	if m, _ = r.JoinGroup("c"); m.Incarnation != inc+2 {
		t.Fatal("joining a group twice bumped the incarnation")
	}
	if m, _ = r.LeaveGroup("a"); !slices.Equal(m.Groups, []string{"b", "c"}) || m.Incarnation != inc+3 {
		t.Fatalf("LeaveGroup: %+v", m)
	}
	if m, _ = r.LeaveGroup("zz"); m.Incarnation != inc+3 {
		t.Fatal("leaving a group self is not in bumped the incarnation")
	}
	if m, _ = r.SetEndpoints("tcp://h:1", "tcp://h:2"); m.RPC != "tcp://h:1" || m.Pub != "tcp://h:2" || m.Incarnation != inc+4 {
		t.Fatalf("SetEndpoints: %+v", m)
	}
	if got := kinds(r.Events(0)); !slices.Equal(got, []EventKind{EventUpdate, EventUpdate, EventUpdate, EventUpdate}) {
		t.Fatalf("events %v, want four updates", got)
	}
	if ms := r.InGroup("b"); len(ms) != 1 || ms[0].ID != "self" {
		t.Fatalf("InGroup(b) = %v", ids(ms))
	}
}

func TestSelfUpdatesRejectBadInput(t *testing.T) {
	r := newReg(t, "self", newClock())
	before := r.Self()
	tooMany := make([]string, MaxGroups+1)
	for i := range tooMany {
		tooMany[i] = strings.Repeat("g", i+1)
	}
	for name, f := range map[string]func() (Member, error){
		"empty group":     func() (Member, error) { return r.JoinGroup("") },
		"long group":      func() (Member, error) { return r.JoinGroup(strings.Repeat("g", MaxString+1)) },
		"too many groups": func() (Member, error) { return r.SetGroups(tooMany) },
		"long endpoint":   func() (Member, error) { return r.SetEndpoints(strings.Repeat("e", MaxString+1), "") },
	} {
		if _, err := f(); !errors.Is(err, ErrBadMember) {
			t.Errorf("%s: got %v, want ErrBadMember", name, err)
		}
	}
	for i := range MaxGroups {
		if _, err := r.JoinGroup(tooMany[i]); err != nil {
			t.Fatalf("JoinGroup %d: %v", i, err)
		}
	}
	if _, err := r.JoinGroup("one-too-many"); !errors.Is(err, ErrBadMember) {
		t.Fatalf("group %d: got %v, want ErrBadMember", MaxGroups+1, err)
	}
	if r.Self().Incarnation != before.Incarnation+MaxGroups {
		t.Fatalf("rejected updates changed the incarnation to %d", r.Self().Incarnation)
	}
}

func TestLeave(t *testing.T) {
	r := newReg(t, "self", newClock())
	r.Merge(mem("a", 1))
	inc := r.Self().Incarnation
	m := r.Leave()
	if !m.Left || m.Incarnation != inc+1 {
		t.Fatalf("Leave returned %+v", m)
	}
	if again := r.Leave(); !again.Equal(m) {
		t.Fatalf("second Leave returned %+v, want %+v", again, m)
	}
	if _, err := r.SetGroups([]string{"x"}); !errors.Is(err, ErrLeft) {
		t.Fatalf("SetGroups after Leave: %v, want ErrLeft", err)
	}
	if _, err := r.JoinGroup("x"); !errors.Is(err, ErrLeft) {
		t.Fatalf("JoinGroup after Leave: %v, want ErrLeft", err)
	}
	if got := ids(r.Live()); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("Live after Leave = %v, want [a]", got)
	}
	if st, _ := r.Get("self"); st.State != StateLeft {
		t.Fatalf("self state %v after Leave", st.State)
	}
	// A stale alive record of self from gossip is refuted with a Left one.
	if !r.Merge(mem("self", m.Incarnation+3)) || !r.Self().Left || r.Self().Incarnation != m.Incarnation+4 {
		t.Fatalf("refutation after Leave: %+v", r.Self())
	}
}
