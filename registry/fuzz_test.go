package registry

import (
	"errors"
	"testing"
)

// FuzzRestore feeds hostile bytes to the snapshot decoder and Restore: no
// panic, only ErrBadSnapshot as an error, caps respected, and whatever is
// accepted survives a snapshot round trip.
func FuzzRestore(f *testing.F) {
	r := newReg(f, "self", newClock(), func(c *Config) { c.Self.Groups = []string{"g"} })
	r.MergeAll([]Member{mem("a", 2, "actor", "learner"), left(mem("b", 7))})
	good, err := r.Snapshot()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte{0x92, 0x01, 0x90})
	f.Add([]byte{0x92, 0x01, 0xdd, 0x7f, 0xff, 0xff, 0xff})
	f.Add([]byte{0x92, 0x01, 0x91, 0x97, 0xdb, 0xff, 0xff, 0xff, 0xff})
	f.Add(mustMarshal(f, []any{1, []any{[]any{"a", "r", "p", "h", []string{"b", "a", "a"}, 3, true, 9}}, "x"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, err := DecodeSnapshot(b)
		if err != nil {
			if !errors.Is(err, ErrBadSnapshot) {
				t.Fatalf("error %v is not ErrBadSnapshot", err)
			}
			return
		}
		checkCaps(t, ms)
		reg := newReg(t, "self", newClock())
		if err := reg.Restore(b); err != nil {
			t.Fatalf("Restore failed where DecodeSnapshot succeeded: %v", err)
		}
		if reg.Len() > MaxMembers {
			t.Fatalf("table of %d members", reg.Len())
		}
		again, err := reg.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		ms2, err := DecodeSnapshot(again)
		if err != nil {
			t.Fatalf("re-encoded snapshot does not decode: %v", err)
		}
		checkCaps(t, ms2)
	})
}

func checkCaps(t *testing.T, ms []Member) {
	t.Helper()
	if len(ms) > MaxMembers {
		t.Fatalf("%d members decoded", len(ms))
	}
	for _, m := range ms {
		if err := m.Validate(); err != nil {
			t.Fatalf("decoded an invalid member: %v", err)
		}
		for i := 1; i < len(m.Groups); i++ {
			if m.Groups[i-1] >= m.Groups[i] {
				t.Fatalf("groups not normalised: %q", m.Groups)
			}
		}
	}
}
