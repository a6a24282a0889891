package files

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/rpc"
)

// The landing log answers from a position on, names each holder once, and
// says open while an answer does not reach the end, whatever the outcome.
func TestLandingLogSince(t *testing.T) {
	l := &landingLog{}
	var ids []blocks.ID
	for i := range rpc.MaxStrings + 10 {
		id := blocks.Sum([]byte(fmt.Sprint("block", i)))
		ids = append(ids, id)
		switch {
		case i == 0:
			l.land(id, nil)
		case i < 5:
			l.land(id, []string{"a", "b"})
		default:
			l.land(id, []string{fmt.Sprint("m", i)})
		}
	}
	ref := blocks.Ref(blocks.Sum([]byte("ref")))
	l.end(rpc.LandingCommitted, ref, time.Now())
	l.end(rpc.LandingAborted, blocks.Ref{}, time.Now()) // the first outcome stays

	rep := l.since(0)
	got, err := rep.IDs.Unpack()
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Members) != rpc.MaxStrings || len(got) >= len(ids) || rep.State != rpc.LandingOpen {
		t.Fatalf("first answer: %d members, %d of %d ids, state %d", len(rep.Members), len(got), len(ids), rep.State)
	}
	if rep.Holder[0] != rpc.NoHolder || rep.Members[rep.Holder[1]] != "a" || rep.Holder[1] != rep.Holder[4] {
		t.Fatalf("holders %v of %v", rep.Holder[:5], rep.Members[:2])
	}
	rest := l.since(len(got))
	more, _ := rest.IDs.Unpack()
	if len(got)+len(more) != len(ids) || rest.State != rpc.LandingCommitted {
		t.Fatalf("second answer: %d ids (want %d), state %d", len(more), len(ids)-len(got), rest.State)
	}
	if r, err := rpc.ParseRef(rest.Ref); err != nil || r != ref {
		t.Fatalf("ref %x, %v", rest.Ref, err)
	}
	if end := l.since(len(ids)); end.State != rpc.LandingCommitted || len(end.IDs) != 0 {
		t.Fatalf("answer at the end: %d id bytes, state %d", len(end.IDs), end.State)
	}
}

// put_landed rejects a position out of range and an unknown put.
func TestLandedRejectsBadQuestions(t *testing.T) {
	s := newService(t, nil)
	if _, err := s.Landed(blocks.Ref{}, -1); !errors.Is(err, rpc.ErrBadRequest) {
		t.Fatalf("negative position: %v", err)
	}
	if _, err := s.Landed(blocks.Ref{}, blocks.MaxBlocks); !errors.Is(err, rpc.ErrBadRequest) {
		t.Fatalf("position past the cap: %v", err)
	}
	if _, err := s.Landed(newPendingKey(), 0); !errors.Is(err, blocks.ErrNotFound) {
		t.Fatalf("unknown put: %v", err)
	}
}
