package blocks

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// BLAKE3-256 test vectors (from the BLAKE3 reference implementation).
func TestSumVectors(t *testing.T) {
	for in, want := range map[string]string{
		"":    "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262",
		"abc": "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85",
	} {
		if got := Sum([]byte(in)).String(); got != want {
			t.Errorf("Sum(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestVerify(t *testing.T) {
	b := []byte("block")
	if err := Verify(Sum(b), b); err != nil {
		t.Fatal(err)
	}
	if err := Verify(Sum(b), []byte("blocc")); !errors.Is(err, ErrHashMismatch) {
		t.Fatalf("tampered block: %v", err)
	}
}

func TestParseAndText(t *testing.T) {
	id := Sum([]byte("x"))
	s := id.String()
	if len(s) != 64 || id.Short() != s[:12] {
		t.Fatalf("String %q Short %q", s, id.Short())
	}
	got, err := ParseID(s)
	if err != nil || got != id {
		t.Fatalf("ParseID: %v", err)
	}
	if got, err := ParseID(strings.ToUpper(s)); err != nil || got != id {
		t.Fatalf("upper case: %v", err)
	}
	ref, err := ParseRef(s)
	if err != nil || ref.String() != s || ref.Short() != s[:12] {
		t.Fatalf("ParseRef: %v", err)
	}
	for _, bad := range []string{"", s[:63], s + "0", strings.Repeat("g", 64), strings.Repeat("x", 500)} {
		if _, err := ParseRef(bad); !errors.Is(err, ErrBadRef) {
			t.Errorf("ParseRef(%q): %v", bad, err)
		}
		if _, err := ParseID(bad); !errors.Is(err, ErrBadRef) {
			t.Errorf("ParseID(%q): %v", bad, err)
		}
	}
	if _, err := ParseRef(strings.Repeat("x", 500)); len(err.Error()) > 200 {
		t.Errorf("error for a long input is %d characters", len(err.Error()))
	}
}

func TestJSONText(t *testing.T) {
	type rec struct {
		Ref Ref
		ID  ID
	}
	in := rec{Ref: Ref(Sum([]byte("r"))), ID: Sum([]byte("i"))}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), in.Ref.String()) {
		t.Fatalf("ref not in hex: %s", b)
	}
	var out rec
	if err := json.Unmarshal(b, &out); err != nil || out != in {
		t.Fatalf("round trip: %+v %v", out, err)
	}
	if err := json.Unmarshal([]byte(`{"Ref":"zz"}`), &out); !errors.Is(err, ErrBadRef) {
		t.Fatalf("bad ref in JSON: %v", err)
	}
	if err := json.Unmarshal([]byte(`{"ID":"zz"}`), &out); !errors.Is(err, ErrBadRef) {
		t.Fatalf("bad id in JSON: %v", err)
	}
	if !(Ref{}).IsZero() || !(ID{}).IsZero() || in.Ref.IsZero() || in.ID.IsZero() {
		t.Fatal("IsZero")
	}
}
