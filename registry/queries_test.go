package registry

import (
	"maps"
	"slices"
	"testing"
)

func TestQueries(t *testing.T) {
	clk := newClock()
	r := newReg(t, "self", clk, func(c *Config) { c.Self.Groups = []string{"learner"} })
	r.MergeAll([]Member{mem("d", 1, "actor"), mem("b", 1, "actor", "learner"), mem("c", 1), left(mem("e", 1, "actor"))})
	clk.Add(dA)
	r.Heard("b", 1)
	r.Heard("c", 1)
	r.Tick(clk.Now()) // d dies

	if got := ids(r.Live()); !slices.Equal(got, []string{"b", "c", "self"}) {
		t.Fatalf("Live = %v", got)
	}
	if got := ids(r.InGroup("actor")); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("InGroup(actor) = %v", got)
	}
	want := map[string][]string{"actor": {"b"}, "learner": {"b", "self"}}
	if got := r.Groups(); !maps.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("Groups = %v, want %v", got, want)
	}
	var all []string
	for _, st := range r.Members() {
		all = append(all, st.ID+"="+st.State.String())
	}
	if !slices.Equal(all, []string{"b=alive", "c=alive", "d=dead", "e=left", "self=alive"}) {
		t.Fatalf("Members = %v", all)
	}
	if _, ok := r.Get("nobody"); ok {
		t.Fatal("Get of an unknown id succeeded")
	}
}

func TestLiveIsCachedAndInvalidated(t *testing.T) {
	clk := newClock()
	r := newReg(t, "self", clk)
	r.MergeAll([]Member{mem("a", 1), mem("b", 1)})
	first := r.Live()
	if allocs := testing.AllocsPerRun(100, func() { _ = r.Live() }); allocs != 0 {
		t.Fatalf("Live allocates %v per call while nothing changes", allocs)
	}
	r.Tick(clk.Add(sA)) // Alive -> Suspect keeps the live set
	if &r.Live()[0] != &first[0] {
		t.Fatal("Alive -> Suspect rebuilt the live cache")
	}
	r.Heard("a", 1)
	r.Tick(clk.Add(dA - sA)) // b dies
	if got := ids(r.Live()); !slices.Equal(got, []string{"a", "self"}) {
		t.Fatalf("Live after b died = %v", got)
	}
	r.Merge(mem("a", 2, "g"))
	if l := r.Live(); !l[0].InGroup("g") {
		t.Fatal("Live still shows a's old record after an update")
	}
	if !slices.Equal(ids(first), []string{"a", "b", "self"}) {
		t.Fatal("an old Live snapshot changed under its holder")
	}
}

func TestOwnersUsesLive(t *testing.T) {
	clk := newClock()
	r := newReg(t, "self", clk)
	for _, id := range []string{"a", "b", "c", "d"} {
		r.Merge(mem(id, 1))
	}
	key := [32]byte{1, 2, 3}
	all := r.Owners(key, 5)
	if len(all) != 5 {
		t.Fatalf("Owners(5) gave %d members", len(all))
	}
	dead := all[0].ID
	if dead == "self" {
		dead = all[1].ID
	}
	clk.Add(dA)
	for _, id := range []string{"a", "b", "c", "d"} {
		if id != dead {
			r.Heard(id, 1)
		}
	}
	r.Tick(clk.Now())
	if slices.Contains(ids(r.Owners(key, 5)), dead) {
		t.Fatalf("Owners still includes dead member %s", dead)
	}
}
