package endpoint

import (
	"errors"
	"testing"
)

func TestDialAndListen(t *testing.T) {
	cases := []struct{ in, dial, listen string }{
		{"tcp://127.0.0.1:7700", "tcp://127.0.0.1:7700", "tcp://127.0.0.1:7700"},
		{"127.0.0.1:7700", "tcp://127.0.0.1:7700", "tcp://127.0.0.1:7700"},
		{" localhost:7700 ", "tcp://localhost:7700", "tcp://localhost:7700"},
		{":7700", "tcp://127.0.0.1:7700", "tcp://*:7700"},
		{"*:7700", "tcp://*:7700", "tcp://*:7700"},
		{"127.0.0.1:*", "tcp://127.0.0.1:*", "tcp://127.0.0.1:*"},
		{"[::1]:7700", "tcp://[::1]:7700", "tcp://[::1]:7700"},
		{"ipc:///tmp/emerge.sock", "ipc:///tmp/emerge.sock", "ipc:///tmp/emerge.sock"},
	}
	for _, c := range cases {
		if got, err := Dial(c.in); err != nil || got != c.dial {
			t.Errorf("Dial(%q) = %q, %v; want %q", c.in, got, err, c.dial)
		}
		if got, err := Listen(c.in); err != nil || got != c.listen {
			t.Errorf("Listen(%q) = %q, %v; want %q", c.in, got, err, c.listen)
		}
	}
	for _, in := range []string{"", "7700", "localhost", "host:port", "host:0", "host:70000", "://x", "tcp://", "a:b:c"} {
		if got, err := Dial(in); !errors.Is(err, ErrBad) {
			t.Errorf("Dial(%q) = %q, %v; want ErrBad", in, got, err)
		}
	}
}

func TestNextPort(t *testing.T) {
	cases := []struct{ in, want string }{
		{"tcp://127.0.0.1:7700", "tcp://127.0.0.1:7701"},
		{"tcp://*:7710", "tcp://*:7711"},
		{"tcp://127.0.0.1:*", "tcp://127.0.0.1:*"},
		{"tcp://[::1]:7700", "tcp://[::1]:7701"},
		{"ipc:///run/emerge", "ipc:///run/emerge.pub"},
	}
	for _, c := range cases {
		if got, err := NextPort(c.in); err != nil || got != c.want {
			t.Errorf("NextPort(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"tcp://127.0.0.1:65535", "inproc://x", "tcp://host"} {
		if got, err := NextPort(in); !errors.Is(err, ErrBad) {
			t.Errorf("NextPort(%q) = %q, %v; want ErrBad", in, got, err)
		}
	}
}
