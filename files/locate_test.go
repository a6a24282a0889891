package files

import (
	"testing"

	"github.com/emerge-dev/emerge/blocks"
)

// A who-has stops waiting for more holders once every id has enough of
// them, and not before.
func TestWhoHasSettleEndsWithEnoughHolders(t *testing.T) {
	s := newService(t, nil)
	id := blocks.Sum([]byte("wanted"))
	q := &query{want: map[blocks.ID]bool{id: true}, found: map[blocks.ID][]string{},
		signal: make(chan struct{}, 1), enough: 2, full: make(chan struct{}, 1)}
	s.qmu.Lock()
	s.queries[7] = q
	s.qmu.Unlock()

	s.IHave(7, "a", []blocks.ID{id})
	s.IHave(7, "a", []blocks.ID{id}) // a repeated answer is one holder
	select {
	case <-q.full:
		t.Fatal("full after one holder, want two")
	default:
	}
	s.IHave(7, "b", []blocks.ID{id})
	select {
	case <-q.full:
	default:
		t.Fatal("not full after two holders")
	}
	if got := q.result()[id]; len(got) != 2 {
		t.Fatalf("holders %v, want a and b once each", got)
	}
}
