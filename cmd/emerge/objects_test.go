package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/internal/testdata"
	"github.com/emerge-dev/emerge/node"
)

// A lone node with the defaults (replicas 2, min_replicas 1) takes a put,
// and the CLI says in one line that it is under its target.
func TestCLIPutUnderTarget(t *testing.T) {
	n := nodetest.Start(t, func(c *node.Config) { c.Replicas, c.MinReplicas = 2, 1 })
	ep := "--node=" + n.Endpoint()
	r := runCLI(t, []byte("weights"), ep, "put", "-", "--json")
	var out struct {
		Ref                      string
		Size                     int64
		Blocks, Copies, Replicas int
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &out) != nil || out.Copies != 1 || out.Replicas != 2 ||
		out.Size != 7 || out.Blocks != 1 || out.Ref == "" {
		t.Fatalf("put --json on a lone node: %+v -> %+v", r, out)
	}
	if r.stderr != "emerge: stored 1 of 2 copies; the network makes the rest as members join\n" {
		t.Fatalf("stderr %q", r.stderr)
	}
	if r := runCLI(t, []byte("weights"), ep, "put", "-", "--replicas", "1"); r.code != 0 || r.stderr != "" {
		t.Fatalf("a put at its target says nothing on stderr: %+v", r)
	}
	if r := runCLI(t, []byte("weights"), ep, "put", "-", "--min-replicas", "2"); r.code != exitUnavailable ||
		!strings.Contains(r.stderr, "min_replicas") {
		t.Fatalf("--min-replicas 2 on a lone node: %+v", r)
	}
}

// rm and stat take several refs, one line (or block) each, failures on
// stderr, the exit code of the first failure.
func TestCLISeveralRefs(t *testing.T) {
	n := nodetest.Start(t, func(c *node.Config) { c.LocateTimeout = 200 * time.Millisecond })
	ep := "--node=" + n.Endpoint()
	a := strings.TrimSpace(runCLI(t, []byte("a"), ep, "put", "-", "--meta", "k=a").stdout)
	b := strings.TrimSpace(runCLI(t, []byte("b"), ep, "put", "-", "--meta", "k=b").stdout)
	missing := strings.Repeat("0", 62) + "ff"
	st := runCLI(t, nil, ep, "stat", a, b)
	if st.code != 0 || strings.Count(st.stdout, "ref ") != 2 || !strings.Contains(st.stdout, "k=a") || !strings.Contains(st.stdout, "k=b") {
		t.Fatalf("stat A B: %+v", st)
	}
	st = runCLI(t, nil, ep, "stat", a, missing, "xyz", b, "--json")
	dec := json.NewDecoder(strings.NewReader(st.stdout))
	var refs []string
	for dec.More() {
		var info client.Info
		if err := dec.Decode(&info); err != nil {
			t.Fatal(err)
		}
		refs = append(refs, info.Ref.String())
	}
	if st.code != exitNotFound || len(refs) != 2 || refs[0] != a || refs[1] != b || strings.Count(st.stderr, "\n") != 2 ||
		!strings.Contains(st.stderr, "malformed") || !strings.Contains(st.stderr, "not found") {
		t.Fatalf("stat with a missing and a malformed ref: %+v", st)
	}
	rm := runCLI(t, nil, ep, "rm", a, missing, b)
	if rm.code != exitNotFound || strings.Count(rm.stdout, "deleted ") != 2 || strings.Count(rm.stderr, "\n") != 1 {
		t.Fatalf("rm A MISSING B: %+v", rm)
	}
	if r := runCLI(t, nil, ep, "ls", "--json"); strings.TrimSpace(r.stdout) != "[]" {
		t.Fatalf("after rm A B: %s", r.stdout)
	}
}

// get -o keeps the mode of the file it replaces and creates new files with
// the umask; --no-clobber refuses to replace.
func TestCLIGetFileModes(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	n := nodetest.Start(t, nil)
	ep := "--node=" + n.Endpoint()
	data := testdata.Bytes(5, 2<<20+3)
	ref := strings.TrimSpace(runCLI(t, data, ep, "put", "-").stdout)
	dir := t.TempDir()
	fresh := filepath.Join(dir, "fresh.bin")
	if r := runCLI(t, nil, ep, "get", ref, "-o", fresh); r.code != 0 {
		t.Fatalf("get -o: %+v", r)
	}
	if fi, _ := os.Stat(fresh); fi.Mode().Perm() != 0o644 {
		t.Fatalf("a new file has mode %v, want 0644 (umask 022)", fi.Mode().Perm())
	}
	kept := filepath.Join(dir, "kept.bin")
	os.WriteFile(kept, []byte("old"), 0o600)
	os.Chmod(kept, 0o640)
	if r := runCLI(t, nil, ep, "get", ref, "-o", kept); r.code != 0 {
		t.Fatalf("get -o over a file: %+v", r)
	}
	if fi, _ := os.Stat(kept); fi.Mode().Perm() != 0o640 {
		t.Fatalf("the replaced file's mode became %v, want 0640", fi.Mode().Perm())
	}
	if got, _ := os.ReadFile(kept); !bytes.Equal(got, data) {
		t.Fatal("get -o over a file wrote other bytes")
	}
	os.WriteFile(kept, []byte("precious"), 0o640)
	if r := runCLI(t, nil, ep, "get", ref, "-o", kept, "--no-clobber"); r.code != exitUsage || !strings.Contains(r.stderr, "exists") {
		t.Fatalf("--no-clobber over a file: %+v", r)
	}
	if got, _ := os.ReadFile(kept); string(got) != "precious" {
		t.Fatal("--no-clobber replaced the file")
	}
	other := filepath.Join(dir, "other.bin")
	if r := runCLI(t, nil, ep, "get", ref, "-o", other, "--no-clobber"); r.code != 0 {
		t.Fatalf("--no-clobber to a new file: %+v", r)
	}
	if got, _ := os.ReadFile(other); !bytes.Equal(got, data) {
		t.Fatal("--no-clobber to a new file wrote other bytes")
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*emerge-*"))
	if len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

// A streamed get that meets a corrupt block partway reports the cause in
// one line and exits; it does not panic (the client closed its connection
// under the block fetches still running).
// A block lost on the only node that held it (a copy that failed its hash
// and was quarantined): a streamed get reports the block and exits
// not found, in one line, leaving no output file; it never panics.
func TestCLIGetLostBlock(t *testing.T) {
	n := nodetest.Start(t, func(c *node.Config) { c.LocateTimeout = 300 * time.Millisecond })
	const bs = 1 << 20
	data := testdata.Bytes(11, 24*bs)
	ep := "--node=" + n.Endpoint()
	ref := strings.TrimSpace(runCLI(t, data, ep, "--no-shm", "put", "-").stdout)
	if err := n.Store().Quarantine(blocks.Sum(data[17*bs:18*bs]), "test"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		out := filepath.Join(t.TempDir(), "out")
		r := runCLI(t, nil, ep, "--no-shm", "get", ref, "-o", out)
		if r.code != exitNotFound || !strings.Contains(r.stderr, "block 17") || strings.Count(r.stderr, "\n") != 1 {
			t.Fatalf("get of an object with a lost block: %+v", r)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Fatal("a failed get left its output")
		}
	}
}

// A put of the right bytes heals a damaged copy the node already had
// under the block's id, instead of trusting it.
func TestCLIPutHealsADamagedCopy(t *testing.T) {
	n := nodetest.Start(t, nil)
	const bs = 1 << 20
	data := testdata.Bytes(12, 4*bs)
	bad := bytes.Repeat([]byte{0xee}, bs)
	if err := n.Store().PutBlock(blocks.Sum(data[2*bs:3*bs]), bad); err != nil { // the store trusts ids
		t.Fatal(err)
	}
	ep := "--node=" + n.Endpoint()
	ref := strings.TrimSpace(runCLI(t, data, ep, "--no-shm", "put", "-").stdout)
	out := filepath.Join(t.TempDir(), "out")
	if r := runCLI(t, nil, ep, "--no-shm", "get", ref, "-o", out); r.code != 0 {
		t.Fatalf("get after a put over a damaged copy: %+v", r)
	}
	if got, err := os.ReadFile(out); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("wrong bytes: %v", err)
	}
}
