package main

import (
	"strings"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/node"
)

// complete runs cobra's hidden completion command and returns the
// candidates (without descriptions) and the directive line.
func complete(t *testing.T, args ...string) ([]string, string) {
	t.Helper()
	r := runCLI(t, nil, append([]string{"__complete"}, args...)...)
	if r.code != 0 {
		t.Fatalf("__complete %q: %+v", args, r)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	var out []string
	for _, l := range lines[:len(lines)-1] {
		name, _, _ := strings.Cut(l, "\t")
		out = append(out, name)
	}
	return out, lines[len(lines)-1]
}

func TestCompletion(t *testing.T) {
	nodes := nodetest.Cluster(t, 2, func(i int, c *node.Config) {
		c.Groups = [][]string{{"actor"}, {"learner", "gpu"}}[i]
	})
	ep := "--node=" + nodes[0].Endpoint()
	a := strings.TrimSpace(runCLI(t, []byte("a"), ep, "put", "-").stdout)
	b := strings.TrimSpace(runCLI(t, []byte("b"), ep, "put", "-").stdout)

	const noFiles = ":4" // ShellCompDirectiveNoFileComp
	if got, dir := complete(t, ep, "get", ""); !sameSet(got, []string{a, b}) || dir != noFiles {
		t.Errorf("get: %v %s", got, dir)
	}
	if got, _ := complete(t, ep, "get", a[:3]); !sameSet(got, filter([]string{a, b}, a[:3])) {
		t.Errorf("get %s: %v", a[:3], got)
	}
	if got, _ := complete(t, ep, "get", a, ""); len(got) != 0 {
		t.Errorf("get takes one ref, offered %v", got)
	}
	if got, _ := complete(t, ep, "rm", a, ""); !sameSet(got, []string{b}) {
		t.Errorf("rm A: %v", got)
	}
	if got, _ := complete(t, ep, "group", "join", ""); !sameSet(got, []string{"actor", "gpu", "learner"}) {
		t.Errorf("group join: %v", got)
	}
	if got, _ := complete(t, ep, "group", "leave", ""); !sameSet(got, []string{"actor"}) {
		t.Errorf("group leave: %v", got)
	}
	if got, _ := complete(t, ep, "put", "x", "--prefetch-group", "l"); !sameSet(got, []string{"learner"}) {
		t.Errorf("put --prefetch-group l: %v", got)
	}
	if got, _ := complete(t, ep, "prefetch", "start", a, "--target", ""); !sameSet(got, []string{nodes[0].ID(), nodes[1].ID()}) {
		t.Errorf("prefetch start --target: %v", got)
	}
	if got, dir := complete(t, "node", "--log-format", ""); !sameSet(got, []string{"auto", "console", "json"}) || dir != noFiles {
		t.Errorf("node --log-format: %v %s", got, dir)
	}
	if got, _ := complete(t, "node", "--log-level", ""); !sameSet(got, []string{"debug", "info", "warn", "error"}) {
		t.Errorf("node --log-level: %v", got)
	}
	// No node answering: nothing offered, nothing printed, quickly.
	start := time.Now()
	r := runCLI(t, nil, "__complete", "--node=tcp://127.0.0.1:1", "get", "")
	if r.code != 0 || strings.TrimSpace(r.stdout) != noFiles || strings.Contains(r.stderr, "emerge:") {
		t.Errorf("completion without a node: %+v", r)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("completion without a node took %s", d)
	}
}

func sameSet(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	seen := map[string]bool{}
	for _, g := range got {
		seen[g] = true
	}
	for _, w := range want {
		if !seen[w] {
			return false
		}
	}
	return true
}

func filter(s []string, prefix string) []string {
	var out []string
	for _, x := range s {
		if strings.HasPrefix(x, prefix) {
			out = append(out, x)
		}
	}
	return out
}
