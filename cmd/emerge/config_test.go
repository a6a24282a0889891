package main

import (
	"bytes"
	"os"
	"reflect"
	"testing"

	"github.com/emerge-dev/emerge/node"
	"github.com/rs/zerolog"
)

// conf/emerge.yaml is the output of `emerge config`: every key, documented,
// with its default. It must stay so, and must load.
func TestShippedConfigMatchesCode(t *testing.T) {
	var want bytes.Buffer
	writeConfig(&want)
	got, err := os.ReadFile("../../conf/emerge.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatal("conf/emerge.yaml is stale: regenerate it with `go run ./cmd/emerge config > conf/emerge.yaml`")
	}
	cfg := node.DefaultConfig()
	if err := cfg.LoadFile("../../conf/emerge.yaml"); err != nil {
		t.Fatal(err)
	}
	def := node.DefaultConfig()
	cfg.Logger, def.Logger = zerolog.Nop(), zerolog.Nop()
	for _, c := range []*node.Config{&cfg, &def} { // [] and nil mean the same
		if len(c.Peers) == 0 {
			c.Peers = nil
		}
		if len(c.Groups) == 0 {
			c.Groups = nil
		}
		if len(c.SecurityAllow) == 0 {
			c.SecurityAllow = nil
		}
	}
	if !reflect.DeepEqual(cfg, def) {
		t.Fatalf("loading conf/emerge.yaml changes the defaults:\n%+v\n%+v", cfg, node.DefaultConfig())
	}
}
