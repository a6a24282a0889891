package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/node"
)

// A prefetch to a group with no live member (mistyped, empty) exits 6 and
// says so, before a put stores anything; --allow-empty records it anyway.
// prefetch start --json prints what was started, and status labels the
// served column as a total over all objects.
func TestCLIPrefetchTargets(t *testing.T) {
	nodes := nodetest.Cluster(t, 2, func(i int, c *node.Config) {
		if i == 1 {
			c.Groups = []string{"actor"}
		}
	})
	ep := "--node=" + nodes[0].Endpoint()
	ref := strings.TrimSpace(runCLI(t, []byte("weights"), ep, "put", "-").stdout)

	r := runCLI(t, nil, ep, "prefetch", "start", ref, "--group", "acter")
	if r.code != exitUnavailable || !strings.Contains(r.stderr, `no live member is in group "acter"`) || strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("prefetch to a mistyped group: %+v", r)
	}
	r = runCLI(t, nil, ep, "prefetch", "start", ref, "--target", "0123456789abcdef")
	if r.code != exitUnavailable || !strings.Contains(r.stderr, `no live member has id "0123456789abcdef"`) {
		t.Fatalf("prefetch to an unknown node: %+v", r)
	}
	r = runCLI(t, []byte("other weights"), ep, "put", "-", "--prefetch-group", "acter")
	if r.code != exitUnavailable || r.stdout != "" {
		t.Fatalf("put --prefetch-group to a mistyped group: %+v", r)
	}
	if ls := runCLI(t, nil, ep, "ls", "--json"); strings.Count(ls.stdout, `"ref"`) != 1 {
		t.Fatalf("the refused put stored its object: %s", ls.stdout)
	}
	r = runCLI(t, nil, ep, "prefetch", "start", ref, "--group", "later", "--allow-empty", "--json")
	var started struct {
		Ref    string
		Groups []string
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &started) != nil || started.Ref != ref || started.Groups[0] != "later" {
		t.Fatalf("prefetch start --allow-empty --json: %+v", r)
	}
	r = runCLI(t, nil, ep, "prefetch", "start", ref, "--group", "actor", "--wait", "--json")
	var waited struct {
		Ref    string
		Status struct {
			Nodes []struct{ Node, State string }
		}
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &waited) != nil || len(waited.Status.Nodes) != 1 ||
		waited.Status.Nodes[0].Node != nodes[1].ID() || waited.Status.Nodes[0].State != "done" {
		t.Fatalf("prefetch start --wait --json: %+v", r)
	}
	r = runCLI(t, nil, ep, "prefetch", "status", ref)
	if r.code != 0 || !strings.Contains(r.stdout, "SERVED (ALL OBJECTS)") || !strings.Contains(r.stdout, "over all objects") {
		t.Fatalf("prefetch status: %+v", r)
	}
}
