package registry

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNewValidatesConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
	}{
		{"empty id", Config{}},
		{"long id", Config{Self: Member{ID: strings.Repeat("x", MaxString+1)}}},
		{"dead before suspect", Config{Self: mem("a", 1), SuspectAfter: 5 * time.Second, DeadAfter: 4 * time.Second}},
		{"negative remove", Config{Self: mem("a", 1), RemoveAfter: -time.Second}},
		{"negative buffer", Config{Self: mem("a", 1), EventBuffer: -1}},
		{"self left", Config{Self: left(mem("a", 1))}},
		{"bad group", Config{Self: mem("a", 1, "")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := New(c.cfg); !errors.Is(err, ErrBadConfig) {
				t.Fatalf("New: got %v, want ErrBadConfig", err)
			}
		})
	}
}

func TestNewFillsDefaults(t *testing.T) {
	r, err := New(Config{Self: mem("a", 0, "z", "b", "z")})
	if err != nil {
		t.Fatal(err)
	}
	if r.cfg.SuspectAfter != DefaultSuspectAfter || r.cfg.DeadAfter != DefaultDeadAfter ||
		r.cfg.RemoveAfter != DefaultRemoveAfter || r.cfg.EventBuffer != DefaultEventBuffer || r.cfg.Now == nil {
		t.Fatalf("defaults not filled: %+v", r.cfg)
	}
	self := r.Self()
	if got := strings.Join(self.Groups, ","); got != "b,z" {
		t.Fatalf("self groups %q, want normalised b,z", got)
	}
	if st, _ := r.Get("a"); st.State != StateAlive {
		t.Fatalf("self state %v", st.State)
	}
}
