package units

import "testing"

func TestParse(t *testing.T) {
	good := map[string]int64{"1048576": 1 << 20, "1MiB": 1 << 20, "64 KiB": 64 << 10, "2GB": 2e9, "512k": 512 << 10,
		"1.5GiB": 3 << 29, "0": 0, "7b": 7, "1m": 1 << 20}
	for s, want := range good {
		got, err := Parse(s)
		if err != nil || int64(got) != want {
			t.Errorf("Parse(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "abc", "-1", "1XB", "1e30GiB"} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) accepted", s)
		}
	}
	if s := ByteSize(1 << 20).String(); s != "1MiB" {
		t.Errorf("String = %q", s)
	}
	if s := ByteSize(1000).String(); s != "1000" {
		t.Errorf("String = %q", s)
	}
}
