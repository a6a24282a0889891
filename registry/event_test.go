package registry

import (
	"slices"
	"strconv"
	"testing"
)

func TestEventRingKeepsTheLastN(t *testing.T) {
	r := newReg(t, "self", newClock(), func(c *Config) { c.EventBuffer = 4 })
	for i := range 10 {
		r.Merge(mem("m"+strconv.Itoa(i), 1))
	}
	evs := r.Events(0)
	var seqs []uint64
	for _, e := range evs {
		seqs = append(seqs, e.Seq)
	}
	if !slices.Equal(seqs, []uint64{7, 8, 9, 10}) {
		t.Fatalf("kept seqs %v, want 7..10", seqs)
	}
	if evs[3].Member.ID != "m9" || evs[3].Kind != EventJoin || evs[3].To != StateAlive {
		t.Fatalf("newest event %+v", evs[3])
	}
	if got := r.Events(8); len(got) != 2 || got[0].Seq != 9 {
		t.Fatalf("Events(8) = %v", got)
	}
	if got := r.Events(10); len(got) != 0 {
		t.Fatalf("Events(10) = %v, want none", got)
	}
}

func TestEventNotifyNeverBlocks(t *testing.T) {
	ch := make(chan Event, 2)
	r := newReg(t, "self", newClock(), func(c *Config) { c.Notify = ch })
	for i := range 5 {
		r.Merge(mem("m"+strconv.Itoa(i), 1))
	}
	if r.Dropped() != 3 {
		t.Fatalf("Dropped = %d, want 3", r.Dropped())
	}
	if e := <-ch; e.Seq != 1 || e.Member.ID != "m0" {
		t.Fatalf("first delivered event %+v", e)
	}
	if len(r.Events(0)) != 5 {
		t.Fatal("dropped events are missing from the ring")
	}
}

func TestEventBufferZeroMeansDefault(t *testing.T) {
	r := newReg(t, "self", newClock())
	for i := range DefaultEventBuffer + 5 {
		r.Merge(mem("m"+strconv.Itoa(i), 1))
	}
	if n := len(r.Events(0)); n != DefaultEventBuffer {
		t.Fatalf("kept %d events, want %d", n, DefaultEventBuffer)
	}
}

func TestStrings(t *testing.T) {
	for _, s := range []State{StateAlive, StateSuspect, StateDead, StateLeft, 0} {
		if s.String() == "" {
			t.Fatalf("State(%d) has no name", s)
		}
	}
	seen := map[string]bool{}
	for k := EventJoin; k <= EventRemove; k++ {
		if seen[k.String()] || k.String() == "unknown" {
			t.Fatalf("EventKind(%d) name %q duplicate or missing", k, k)
		}
		seen[k.String()] = true
	}
}
