package node

import (
	"errors"
	"strings"
	"testing"
)

// http_listen follows listen when not set: the same host, loopback for
// every interface, port + 2 (* stays a free port); set, it takes host:port.
func TestConfigHTTPListen(t *testing.T) {
	for _, c := range []struct{ listen, http, want string }{
		{"", "", "127.0.0.1:7702"},
		{"127.0.0.1:7710", "", "127.0.0.1:7712"},
		{"tcp://10.0.0.5:7700", "", "10.0.0.5:7702"},
		{":7700", "", "127.0.0.1:7702"}, // every interface: HTTP stays on loopback
		{"tcp://0.0.0.0:7700", "", "127.0.0.1:7702"},
		{"tcp://[::1]:7700", "", "[::1]:7702"},
		{"tcp://127.0.0.1:*", "", "127.0.0.1:0"},
		{"ipc:///tmp/emerge-test.sock", "", ""}, // nothing to derive: no HTTP
		{"", "0.0.0.0:9100", "0.0.0.0:9100"},
		{"", "http://127.0.0.1:9100", "127.0.0.1:9100"},
		{"", ":9100", ":9100"},
		{"", "127.0.0.1:*", "127.0.0.1:0"},
	} {
		cfg := DefaultConfig()
		if c.listen != "" {
			cfg.Listen = c.listen
		}
		cfg.HTTPListen = c.http
		cfg.Insecure = true // network listens need a secret or this; not what is tested here
		if err := cfg.validate(); err != nil || cfg.HTTPListen != c.want {
			t.Errorf("listen %q http_listen %q: got %q, %v; want %q", c.listen, c.http, cfg.HTTPListen, err, c.want)
		}
	}
}

func TestConfigRejectsBadHTTPListen(t *testing.T) {
	for _, c := range []struct{ listen, http string }{
		{"", "localhost"},
		{"", "127.0.0.1:70000"},
		{"", "127.0.0.1:http"},
		{"127.0.0.1:65534", ""}, // no port two after it
	} {
		cfg := DefaultConfig()
		if c.listen != "" {
			cfg.Listen = c.listen
		}
		cfg.HTTPListen = c.http
		err := cfg.validate()
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "http_listen") || strings.Contains(err.Error(), "\n") {
			t.Errorf("listen %q http_listen %q: %v", c.listen, c.http, err)
		}
	}
	cfg := DefaultConfig()
	cfg.HTTPListen, cfg.HTTPOff = "localhost", true
	if err := cfg.validate(); err != nil {
		t.Errorf("http_off: a bad http_listen is ignored, got %v", err)
	}
}
