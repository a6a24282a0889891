package client_test

import (
	"errors"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/node"
)

// A deleted object's error matches ErrDeleted and ErrNotFound, as the
// README's errors.Is(err, client.ErrNotFound) expects; an unknown ref's
// matches ErrNotFound only.
func TestDeletedMatchesNotFound(t *testing.T) {
	if !errors.Is(client.ErrDeleted, client.ErrNotFound) || !errors.Is(client.ErrDeleted, blocks.ErrDeleted) {
		t.Fatal("the sentinel ErrDeleted must match ErrNotFound and blocks.ErrDeleted")
	}
	if errors.Is(client.ErrNotFound, client.ErrDeleted) {
		t.Fatal("ErrNotFound must not match ErrDeleted")
	}
	n := nodetest.Start(t, func(c *node.Config) { c.LocateTimeout = 200 * time.Millisecond }) // unknown refs answer sooner
	c := nodetest.Client(t, n)
	ctx := nodetest.Context(t, time.Minute)
	ref, err := c.PutBytes(ctx, []byte("to be deleted"), client.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Delete(ctx, ref); err != nil {
		t.Fatal(err)
	}
	_, statErr := c.Stat(ctx, ref)
	_, getErr := c.GetBytes(ctx, ref)
	for what, err := range map[string]error{"stat": statErr, "get": getErr} {
		if !errors.Is(err, client.ErrDeleted) || !errors.Is(err, client.ErrNotFound) || !errors.Is(err, blocks.ErrDeleted) {
			t.Errorf("%s of a deleted object: %v must match ErrDeleted and ErrNotFound", what, err)
		}
	}
	unknown := blocks.Ref{0xff}
	if _, err := c.Stat(ctx, unknown); !errors.Is(err, client.ErrNotFound) || errors.Is(err, client.ErrDeleted) {
		t.Errorf("stat of an unknown ref: %v must match ErrNotFound only", err)
	}
}

// Dial takes host:port as well as tcp://host:port, and names a bad
// endpoint with ErrBadEndpoint.
func TestDialHostPort(t *testing.T) {
	n := nodetest.Start(t, nil)
	ctx := nodetest.Context(t, time.Minute)
	hostPort := n.Endpoint()[len("tcp://"):]
	c, err := client.Dial(ctx, hostPort, nil)
	if err != nil {
		t.Fatalf("Dial(%q): %v", hostPort, err)
	}
	defer c.Close()
	if got := c.Node().Endpoint; got != n.Endpoint() {
		t.Errorf("Node().Endpoint = %q, want %q", got, n.Endpoint())
	}
	if _, err := client.Dial(ctx, "no-port-here", nil); !errors.Is(err, client.ErrBadEndpoint) {
		t.Errorf("Dial of a bad endpoint: %v", err)
	}
}
