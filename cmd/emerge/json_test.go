package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/node"
)

// jsonDocs reads the table of docs/operations.md's "JSON output": the
// fields of each output, by the label of its first column.
func jsonDocs(t *testing.T) map[string][]string {
	t.Helper()
	b, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(b), "## JSON output\n")
	section, _, _ = strings.Cut(section, "\n## ")
	paren := regexp.MustCompile(`\([^)]*\)`)
	tick := regexp.MustCompile("`([a-z_]+)`")
	docs := map[string][]string{}
	for _, line := range strings.Split(section, "\n") {
		cols := strings.Split(line, "|")
		if len(cols) != 5 || strings.HasPrefix(strings.TrimSpace(cols[1]), "---") || strings.TrimSpace(cols[1]) == "JSON of" {
			continue
		}
		var fields []string
		for _, m := range tick.FindAllStringSubmatch(paren.ReplaceAllString(cols[3], ""), -1) {
			fields = append(fields, m[1])
		}
		docs[strings.TrimSpace(cols[1])] = fields
	}
	if len(docs) < 10 {
		t.Fatalf("operations.md documents %d JSON outputs", len(docs))
	}
	return docs
}

// keysOf returns the keys of an object, or of the objects of an array.
func keysOf(t *testing.T, v any) []string {
	t.Helper()
	set := map[string]bool{}
	switch x := v.(type) {
	case map[string]any:
		for k := range x {
			set[k] = true
		}
	case []any:
		for _, e := range x {
			for _, k := range keysOf(t, e) {
				set[k] = true
			}
		}
	}
	var out []string
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// noIDs fails if a JSON value has a key "id" anywhere: a member is "node".
func noIDs(t *testing.T, what string, v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if k == "id" {
				t.Errorf("%s: a key \"id\" (a member is \"node\")", what)
			}
			noIDs(t, what, e)
		}
	case []any:
		for _, e := range x {
			noIDs(t, what, e)
		}
	}
}

// The JSON of every command has exactly the field names operations.md
// documents (they are stable), times in UTC, and a member is always "node".
func TestCLIJSONFieldsDocumented(t *testing.T) {
	docs := jsonDocs(t)
	nodes := nodetest.Cluster(t, 2, func(i int, c *node.Config) { c.Groups = []string{"actor"} })
	ep := "--node=" + nodes[0].Endpoint()
	ref := strings.TrimSpace(runCLI(t, []byte(strings.Repeat("w", 3<<20)), ep, "put", "-", "--meta", "step=1",
		"--content-type", "application/x-weights").stdout)
	outputs := map[string]any{}
	get := func(label string, args ...string) any {
		r := runCLI(t, nil, append([]string{ep, "--json"}, args...)...)
		var v any
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &v) != nil {
			t.Fatalf("%q: %+v", args, r)
		}
		outputs[label] = v
		return v
	}
	get("put", "put", filepath.Join("..", "..", "README.md"))
	stat := get("stat", "stat", ref).(map[string]any)
	get("ls", "ls")
	info := get("info", "info").(map[string]any)
	outputs["info shm"] = info["shm"]
	get("peers", "peers")
	ev := get("peers --events", "peers", "--events").(map[string]any)
	outputs["peers --events events"] = ev["events"]
	get("group join, group leave, group ls", "group", "ls")
	get("prefetch start", "prefetch", "start", ref, "--group", "actor", "--wait")
	st := get("prefetch status", "prefetch", "status", ref).(map[string]any)
	outputs["prefetch status nodes"] = st["nodes"]
	get("version", "version")
	get("rm", "rm", ref)
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready.json")
	stop := startCLINode(t, ready, "--data-dir", dir, "--listen", "127.0.0.1:*", "--replicas", "1")
	var rf any
	readJSON(t, ready, &rf)
	stop()
	outputs["node --ready-file"] = rf

	for label, v := range outputs {
		want, ok := docs[docLabel(label)]
		if !ok {
			t.Errorf("operations.md does not document the JSON of %q", label)
			continue
		}
		if label == "ls" {
			want = docs["`stat`"]
		}
		documented := map[string]bool{}
		for _, f := range want {
			documented[f] = true
		}
		for _, k := range keysOf(t, v) {
			if !documented[k] {
				t.Errorf("%s: field %q is not in operations.md (%v)", label, k, want)
			}
		}
		noIDs(t, label, v)
	}
	for row := range docs {
		covered := false
		for label := range outputs {
			covered = covered || docLabel(label) == row
		}
		if !covered {
			t.Errorf("operations.md documents %s, which this test does not run", row)
		}
	}
	if c, _ := stat["created"].(string); !strings.HasSuffix(c, "Z") {
		t.Errorf("stat created %q: want UTC", c)
	}
	if stat["local_blocks"].(float64) != stat["blocks"].(float64) || stat["meta"] == nil {
		t.Errorf("stat: %v", stat)
	}
	ls := runCLI(t, nil, ep, "ls")
	if !strings.Contains(ls.stdout, "CREATED (UTC)") || !strings.Contains(ls.stdout, time.Now().UTC().Format("2006-01-02")) {
		t.Errorf("ls text: %s", ls.stdout)
	}
}

// docLabel maps an output label to its row: "peers --events events" is
// documented as "`peers --events` `events`".
func docLabel(label string) string {
	for _, row := range []string{"peers --events", "prefetch status", "info"} {
		if rest, ok := strings.CutPrefix(label, row+" "); ok {
			return "`" + row + "` `" + rest + "`"
		}
	}
	return "`" + strings.ReplaceAll(label, ", ", "`, `") + "`"
}

// ls --json carries the metadata and the blocks held, as stat does.
func TestCLILsJSONMetaAndLocal(t *testing.T) {
	n := nodetest.Start(t, nil)
	ep := "--node=" + n.Endpoint()
	ref := strings.TrimSpace(runCLI(t, []byte(strings.Repeat("x", 8<<20)), ep, "put", "-", "--meta", "step=1200").stdout)
	var ls []struct {
		Ref    string
		Blocks int
		Local  int `json:"local_blocks"`
		Meta   map[string]string
	}
	r := runCLI(t, nil, ep, "ls", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &ls); err != nil || len(ls) != 1 || ls[0].Ref != ref || ls[0].Blocks != 8 ||
		ls[0].Local != 8 || ls[0].Meta["step"] != "1200" {
		t.Fatalf("ls --json: %v %+v", err, ls)
	}
}
