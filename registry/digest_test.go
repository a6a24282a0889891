package registry

import (
	"testing"
)

func TestDigestIgnoresOrderAndLiveness(t *testing.T) {
	clk := newClock()
	recs := []Member{mem("a", 1, "x"), mem("b", 3), left(mem("c", 2)), mem("d", 1, "y", "x")}
	r1 := newReg(t, "self", clk)
	r2 := newReg(t, "self", clk)
	r1.MergeAll(recs)
	for i := len(recs) - 1; i >= 0; i-- {
		r2.Merge(recs[i])
	}
	if r1.Digest() != r2.Digest() {
		t.Fatal("same records merged in another order give another digest")
	}
	d := r1.Digest()
	r1.Tick(clk.Add(dA)) // everyone dead in r1's view
	if r1.Digest() != d {
		t.Fatal("liveness changed the digest")
	}
	r1.Heard("a", 1)
	if r1.Digest() != d {
		t.Fatal("a heartbeat changed the digest")
	}
	r1.Merge(mem("a", 2, "x"))
	if r1.Digest() == d {
		t.Fatal("a new incarnation did not change the digest")
	}
	r2.Merge(mem("a", 2, "x"))
	if r1.Digest() != r2.Digest() {
		t.Fatal("digests differ after the same update")
	}
	r2.Merge(mem("a", 2, "z")) // tie-break winner
	if r1.Digest() == r2.Digest() {
		t.Fatal("different content at the same incarnation gives the same digest")
	}
}

func TestDigestSeesEveryField(t *testing.T) {
	base := mem("a", 1, "g")
	variants := []func(*Member){
		func(m *Member) { m.RPC += "x" },
		func(m *Member) { m.Pub += "x" },
		func(m *Member) { m.Host += "x" },
		func(m *Member) { m.Groups = []string{"h"} },
		func(m *Member) { m.Groups = nil },
		func(m *Member) { m.Incarnation++ },
		func(m *Member) { m.Left = true },
	}
	clk := newClock()
	ref := newReg(t, "self", clk)
	ref.Merge(base)
	for i, v := range variants {
		m := base
		v(&m)
		r := newReg(t, "self", clk)
		r.Merge(m)
		if r.Digest() == ref.Digest() {
			t.Errorf("variant %d: digest unchanged", i)
		}
	}
	// Field boundaries are unambiguous: moving bytes between fields changes it.
	a := newReg(t, "self", clk)
	a.Merge(Member{ID: "a", RPC: "xy", Pub: "z", Incarnation: 1})
	b := newReg(t, "self", clk)
	b.Merge(Member{ID: "a", RPC: "x", Pub: "yz", Incarnation: 1})
	if a.Digest() == b.Digest() {
		t.Error("field boundaries are ambiguous in the digest")
	}
}
