package node

import (
	"errors"
	"strings"
	"testing"
)

// pub_listen follows listen when not set (port + 1, * stays *), and every
// endpoint key takes host:port.
func TestConfigEndpoints(t *testing.T) {
	cases := []struct {
		listen, pub  string
		peers        []string
		wantL, wantP string
		wantPeers    []string
	}{
		{"", "", nil, "tcp://127.0.0.1:7700", "tcp://127.0.0.1:7701", nil},
		{"tcp://127.0.0.1:7710", "", nil, "tcp://127.0.0.1:7710", "tcp://127.0.0.1:7711", nil},
		{"127.0.0.1:7720", "", []string{"127.0.0.1:7700", "tcp://10.0.0.5:7700"}, "tcp://127.0.0.1:7720", "tcp://127.0.0.1:7721",
			[]string{"tcp://127.0.0.1:7700", "tcp://10.0.0.5:7700"}},
		{"tcp://127.0.0.1:*", "", nil, "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", nil},
		{":7700", "0.0.0.0:9000", nil, "tcp://*:7700", "tcp://0.0.0.0:9000", nil},
		{"ipc:///tmp/emerge-test.sock", "", nil, "ipc:///tmp/emerge-test.sock", "ipc:///tmp/emerge-test.sock.pub", nil},
	}
	for _, c := range cases {
		cfg := DefaultConfig()
		if c.listen != "" {
			cfg.Listen = c.listen
		}
		cfg.PubListen, cfg.Peers = c.pub, c.peers
		cfg.Insecure = true // the form of endpoints only; who may bind where: TestPlaintextOnlyOnLoopback
		if err := cfg.validate(); err != nil {
			t.Errorf("listen %q pub %q: %v", c.listen, c.pub, err)
			continue
		}
		if cfg.Listen != c.wantL || cfg.PubListen != c.wantP || len(cfg.Peers) != len(c.wantPeers) {
			t.Errorf("listen %q pub %q peers %q: got %q %q %q", c.listen, c.pub, c.peers, cfg.Listen, cfg.PubListen, cfg.Peers)
			continue
		}
		for i := range cfg.Peers {
			if cfg.Peers[i] != c.wantPeers[i] {
				t.Errorf("peers %q: got %q", c.peers, cfg.Peers)
			}
		}
	}
	shared := []string{"127.0.0.1:7700"}
	cfg := DefaultConfig()
	cfg.Peers = shared
	cfg.validate()
	if shared[0] != "127.0.0.1:7700" {
		t.Error("validate rewrote the caller's peers slice")
	}
}

func TestConfigRejectsBadEndpoints(t *testing.T) {
	for key, set := range map[string]func(*Config){
		"listen":     func(c *Config) { c.Listen = "localhost" },
		"pub_listen": func(c *Config) { c.PubListen = "7701" },
		"peers":      func(c *Config) { c.Peers = []string{"tcp://127.0.0.1:7700", "nohost"} },
	} {
		cfg := DefaultConfig()
		set(&cfg)
		err := cfg.validate()
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), key) {
			t.Errorf("bad %s: %v", key, err)
		}
	}
	cfg := DefaultConfig()
	cfg.Listen = "tcp://127.0.0.1:65535" // no port after it
	if err := cfg.validate(); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "pub_listen") {
		t.Errorf("listen on the last port without pub_listen: %v", err)
	}
}
