package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emerge-dev/emerge/internal/nodetest"
)

func TestCLINames(t *testing.T) {
	n := nodetest.Start(t, nil)
	ep := "--node=" + n.Endpoint()
	dir := t.TempDir()
	v1, v2 := filepath.Join(dir, "v1.bin"), filepath.Join(dir, "v2.bin")
	os.WriteFile(v1, []byte("first policy"), 0o644)
	os.WriteFile(v2, []byte("second policy"), 0o644)

	r := runCLI(t, nil, ep, "put", v1, "/models/policy.bin")
	ref1, name, _ := strings.Cut(strings.TrimSpace(r.stdout), " ")
	if r.code != 0 || name != "/models/policy.bin@1" {
		t.Fatalf("put FILE NAME: %+v", r)
	}
	if r = runCLI(t, nil, ep, "put", v2, "--name", "/models/policy.bin"); r.code != 0 || !strings.HasSuffix(strings.TrimSpace(r.stdout), "@2") {
		t.Fatalf("put --name: %+v", r)
	}
	if r = runCLI(t, nil, ep, "get", "/models/policy.bin"); r.code != 0 || r.stdout != "second policy" {
		t.Fatalf("get PATH: %+v", r)
	}
	if r = runCLI(t, nil, ep, "get", "/models/policy.bin@1"); r.code != 0 || r.stdout != "first policy" {
		t.Fatalf("get PATH@1: %+v", r)
	}
	var st struct{ Meta map[string]string }
	if r = runCLI(t, nil, ep, "stat", ref1, "--json"); json.Unmarshal([]byte(r.stdout), &st) != nil || st.Meta["name"] != "v1.bin" {
		t.Fatalf("a file's put keeps its name in meta: %+v", r)
	}
	if r = runCLI(t, nil, ep, "ls", "/models/"); r.code != 0 || !strings.Contains(r.stdout, "/models/policy.bin") {
		t.Fatalf("ls /models/: %+v", r)
	}
	var items []struct {
		Path     string
		Versions int
	}
	if r = runCLI(t, nil, ep, "--json", "ls", "/models/"); json.Unmarshal([]byte(r.stdout), &items) != nil ||
		len(items) != 1 || items[0].Versions != 2 {
		t.Fatalf("ls --json /models/: %+v", r)
	}
	if r = runCLI(t, nil, ep, "versions", "/models/policy.bin"); r.code != 0 || strings.Count(r.stdout, "live") != 2 {
		t.Fatalf("versions: %+v", r)
	}
	if r = runCLI(t, nil, ep, "mv", "/models/policy.bin", "/archive/policy.bin"); r.code != 0 {
		t.Fatalf("mv: %+v", r)
	}
	if r = runCLI(t, nil, ep, "get", "/models/policy.bin"); r.code != exitNotFound {
		t.Fatalf("get after mv: %+v", r)
	}
	if r = runCLI(t, nil, ep, "get", "/archive/policy.bin"); r.stdout != "second policy" {
		t.Fatalf("get the new name: %+v", r)
	}
	// rm of one name keeps the object another name (here an old version) holds.
	if r = runCLI(t, nil, ep, "rm", "--all-versions", "/archive/policy.bin"); r.code != 0 || !strings.Contains(r.stdout, "0 object(s)") {
		t.Fatalf("rm --all-versions while /models/policy.bin@2 names the object: %+v", r)
	}
	if r = runCLI(t, nil, ep, "get", "/models/policy.bin@2"); r.stdout != "second policy" {
		t.Fatalf("the object of another version went: %+v", r)
	}
	// --keep 1: the earlier version is erased (its object, named elsewhere, stays).
	for _, f := range []string{v1, v2} {
		if r = runCLI(t, nil, ep, "put", f, "/keep/p", "--keep", "1"); r.code != 0 {
			t.Fatalf("put --keep 1: %+v", r)
		}
	}
	if r = runCLI(t, nil, ep, "versions", "/keep/p"); r.code != 0 || strings.Count(r.stdout, "erased") != 1 || strings.Count(r.stdout, "live") != 1 {
		t.Fatalf("versions after put --keep 1: %+v", r)
	}
	if r = runCLI(t, nil, ep, "get", "/keep/p@1"); r.code != exitNotFound {
		t.Fatalf("get an erased version: %+v", r)
	}
	// --keep-for 1ns: every earlier version is older than that.
	runCLI(t, nil, ep, "put", v1, "/keep/age")
	if r = runCLI(t, nil, ep, "put", v2, "/keep/age", "--keep-for", "1ns"); r.code != 0 {
		t.Fatalf("put --keep-for: %+v", r)
	}
	if r = runCLI(t, nil, ep, "versions", "/keep/age"); strings.Count(r.stdout, "erased") != 1 {
		t.Fatalf("versions after put --keep-for 1ns: %+v", r)
	}
	if r = runCLI(t, nil, ep, "put", v1, "/keep/p", "--keep", "-2"); r.code != exitUsage {
		t.Fatalf("put --keep -2: %+v", r)
	}

	tree := filepath.Join(dir, "run-7")
	os.MkdirAll(filepath.Join(tree, "shards"), 0o755)
	os.WriteFile(filepath.Join(tree, "a.txt"), []byte("a"), 0o644)
	os.WriteFile(filepath.Join(tree, "shards", "0"), []byte("zero"), 0o644)
	if r = runCLI(t, nil, ep, "put", "-r", tree, "/datasets/run-7/"); r.code != 0 || strings.Count(r.stdout, "\n") != 2 {
		t.Fatalf("put -r: %+v", r)
	}
	if r = runCLI(t, nil, ep, "get", "/datasets/run-7/shards/0"); r.stdout != "zero" {
		t.Fatalf("get a file of the tree: %+v", r)
	}
	if r = runCLI(t, nil, ep, "ls", "-r", "/datasets/"); !strings.Contains(r.stdout, "/datasets/run-7/a.txt") {
		t.Fatalf("ls -r: %+v", r)
	}

	// A compare-and-set that loses: the object is stored (its ref printed), the name is not, exit 8.
	if r = runCLI(t, nil, ep, "put", v1, "/models/policy.bin", "--if-version", "1"); r.code != exitConflict ||
		strings.TrimSpace(r.stdout) != ref1 || strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("put --if-version 1 at version 2: %+v", r)
	}
	if r = runCLI(t, nil, ep, "put", v1, "/models/new.bin", "--if-version", "0"); r.code != 0 {
		t.Fatalf("put --if-version 0 of a new name: %+v", r)
	}
	if r = runCLI(t, nil, ep, "prefetch", "follow", "/models/", "--group", "actor"); r.code != 0 || r.stdout != "/models/ -> actor\n" {
		t.Fatalf("prefetch follow: %+v", r)
	}
	if r = runCLI(t, nil, ep, "prefetch", "follow", "/models/", "--remove"); r.code != 0 || r.stdout != "" {
		t.Fatalf("prefetch follow --remove: %+v", r)
	}

	for _, bad := range [][]string{
		{"prefetch", "follow", "/models/"}, {"prefetch", "follow", "models/", "--group", "actor"},
		{"put", v1, "models/relative"}, {"put", v1, "/a/../b"}, {"get", "/a@0"}, {"ls", "nope/"},
		{"rm", "--all-versions", ref1}, {"rm", "/models/policy.bin", ref1}, {"put", v1, "--mode", "999", "/x"},
	} {
		if r = runCLI(t, nil, append([]string{ep}, bad...)...); r.code != exitUsage || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%v: want exit %d and one line, got %+v", bad, exitUsage, r)
		}
	}
	if r = runCLI(t, nil, ep, "get", "/no/such/name"); r.code != exitNotFound {
		t.Fatalf("unknown name: %+v", r)
	}
}
