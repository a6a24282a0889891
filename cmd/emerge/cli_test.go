package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/internal/testdata"
	"github.com/emerge-dev/emerge/internal/tmpfs"
	"github.com/emerge-dev/emerge/node"
)

type cliResult struct {
	stdout, stderr string
	code           int
}

func runCLI(t *testing.T, stdin []byte, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := run(ctx, args, bytes.NewReader(stdin), &out, &errb)
	return cliResult{out.String(), errb.String(), code}
}

func TestCLIRoundTrip(t *testing.T) {
	n := nodetest.Start(t, nil)
	ep := "--node=" + n.Endpoint()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.bin")
	data := testdata.Bytes(3, 3<<20+17)
	os.WriteFile(in, data, 0o644)

	put := runCLI(t, nil, ep, "put", in, "--meta", "team=rl", "--content-type", "application/x-weights")
	if put.code != 0 {
		t.Fatalf("put: %+v", put)
	}
	ref := strings.TrimSpace(put.stdout)
	if again := runCLI(t, data, ep, "put", "-"); strings.TrimSpace(again.stdout) == ref || again.code != 0 {
		t.Fatalf("stdin put without the same metadata must give another ref: %+v", again)
	}
	plain := runCLI(t, nil, ep, "put", in)
	// A file's put keeps its base name in meta: stdin with the same meta is the same object.
	if fromStdin := runCLI(t, data, ep, "put", "-", "--meta", "name=in.bin"); fromStdin.stdout != plain.stdout {
		t.Fatalf("file and stdin of the same bytes gave %q and %q", plain.stdout, fromStdin.stdout)
	}

	out := filepath.Join(dir, "out.bin")
	if r := runCLI(t, nil, ep, "get", ref, "-o", out); r.code != 0 {
		t.Fatalf("get -o: %+v", r)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, data) {
		t.Fatal("get -o wrote different bytes")
	}
	// -o onto a pipe writes into it (and onto /dev/null into the device):
	// only a regular file is replaced by renaming a finished copy over it.
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	fromFifo := make(chan []byte, 1)
	go func() {
		b, _ := os.ReadFile(fifo)
		fromFifo <- b
	}()
	if r := runCLI(t, nil, ep, "get", ref, "-o", fifo); r.code != 0 {
		t.Fatalf("get -o fifo: %+v", r)
	}
	if got := <-fromFifo; !bytes.Equal(got, data) {
		t.Fatalf("get -o fifo: the reader got %d bytes", len(got))
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("the fifo was replaced: %v %v", fi.Mode(), err)
	}
	// -o onto a symlink replaces the file it points to and keeps the link.
	link := filepath.Join(dir, "link")
	os.WriteFile(filepath.Join(dir, "target"), []byte("old"), 0o644)
	os.Symlink("target", link)
	if r := runCLI(t, nil, ep, "get", ref, "-o", link); r.code != 0 {
		t.Fatalf("get -o link: %+v", r)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the symlink was replaced: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "target")); !bytes.Equal(got, data) {
		t.Fatal("get -o link did not write the link's target")
	}
	if r := runCLI(t, nil, ep, "get", ref, "-o", dir); r.code != exitUsage {
		t.Fatalf("get -o onto a directory: %+v", r)
	}
	if r := runCLI(t, nil, ep, "get", ref); r.code != 0 || r.stdout != string(data) {
		t.Fatalf("get to stdout: code %d, %d bytes", r.code, len(r.stdout))
	}

	var info struct {
		Ref         string            `json:"ref"`
		Size        int64             `json:"size"`
		Blocks      int               `json:"blocks"`
		ContentType string            `json:"content_type"`
		Meta        map[string]string `json:"meta"`
	}
	st := runCLI(t, nil, ep, "stat", ref, "--json")
	if err := json.Unmarshal([]byte(st.stdout), &info); err != nil || info.Ref != ref || info.Size != int64(len(data)) ||
		info.Blocks != 4 || info.Meta["team"] != "rl" || info.ContentType != "application/x-weights" {
		t.Fatalf("stat --json: %+v %v (%q)", info, err, st.stdout)
	}
	if r := runCLI(t, nil, ep, "stat", ref); r.code != 0 || !strings.Contains(r.stdout, "team=rl") {
		t.Fatalf("stat: %+v", r)
	}
	var list []map[string]any
	ls := runCLI(t, nil, ep, "ls", "--json")
	if err := json.Unmarshal([]byte(ls.stdout), &list); err != nil || len(list) != 3 { // labelled, stdin, and the file (its name in meta) with its stdin twin
		t.Fatalf("ls --json: %d objects, %v", len(list), err)
	}
	if r := runCLI(t, nil, ep, "rm", ref); r.code != 0 || !strings.Contains(r.stdout, "deleted") {
		t.Fatalf("rm: %+v", r)
	}
	if r := runCLI(t, nil, ep, "get", ref); r.code != exitNotFound {
		t.Fatalf("get after rm: %+v", r)
	}
}

func TestCLIExitCodes(t *testing.T) {
	n := nodetest.Start(t, nil)
	ep := "--node=" + n.Endpoint()
	dir := t.TempDir()
	missing := "00000000000000000000000000000000000000000000000000000000000000ff"
	present := strings.TrimSpace(runCLI(t, []byte("hello"), ep, "put", "-").stdout)
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"malformed ref", []string{ep, "get", "xyz"}, exitUsage, "malformed ref"},
		{"unknown ref", []string{ep, "get", missing}, exitNotFound, "not found"},
		{"unknown ref stat", []string{ep, "stat", missing}, exitNotFound, "not found"},
		{"unknown ref rm", []string{ep, "rm", missing}, exitNotFound, "not found"},
		{"missing file", []string{ep, "put", filepath.Join(dir, "nope")}, exitUsage, "no such file"},
		{"directory", []string{ep, "put", dir}, exitUsage, "is a directory"},
		{"bad flag", []string{ep, "put", "--no-such-flag", "x"}, exitUsage, "unknown flag"},
		{"too many args", []string{ep, "get", missing, missing}, exitUsage, "want one REF"},
		{"bad meta", []string{ep, "put", "-", "--meta", "novalue"}, exitUsage, "KEY=VALUE"},
		{"bad block size", []string{ep, "put", "-", "--block-size", "1KiB"}, exitUsage, "block size"},
		{"unreachable", []string{"--node=tcp://127.0.0.1:1", "--timeout=300ms", "ls"}, exitUnreachable, "tcp://127.0.0.1:1"},
		{"bad output dir", []string{ep, "get", present, "-o", filepath.Join(dir, "no", "dir", "f")}, exitUsage, "cannot write"},
	}
	for _, tc := range cases {
		r := runCLI(t, []byte("x"), tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%s: code %d stderr %q; want code %d and one line containing %q", tc.name, r.code, r.stderr, tc.code, tc.msg)
		}
	}
}

// emerge node: file, environment and flags, in that order of precedence,
// and the ready file.
func TestCLINodeCommand(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "emerge.yaml")
	os.WriteFile(conf, []byte("listen: tcp://127.0.0.1:1\ndata_dir: "+filepath.Join(dir, "fromfile")+"\nblock_size: 256KiB\nlog_level: warn\n"), 0o644)
	t.Setenv("EMERGE_BLOCK_SIZE", "512KiB")
	ready := filepath.Join(dir, "ready.json")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var errb bytes.Buffer
	go func() {
		done <- run(ctx, []string{"node", "--config", conf, "--listen", "tcp://127.0.0.1:*", "--pub-listen", "tcp://127.0.0.1:*", "--replicas", "1", "--ready-file", ready}, nil, &bytes.Buffer{}, &errb)
	}()
	var info map[string]string
	nodetest.WaitFor(t, 20*time.Second, "ready file", func() bool {
		b, err := os.ReadFile(ready)
		return err == nil && json.Unmarshal(b, &info) == nil
	})
	r := runCLI(t, bytes.Repeat([]byte("z"), 600<<10), "--node="+info["rpc"], "put", "-", "--json")
	var put struct{ Ref string }
	json.Unmarshal([]byte(r.stdout), &put)
	st := runCLI(t, nil, "--node="+info["rpc"], "stat", put.Ref, "--json")
	if !strings.Contains(st.stdout, `"block_size": 524288`) {
		t.Fatalf("env must override the file's block_size: %s", st.stdout)
	}
	if _, err := os.Stat(filepath.Join(dir, "fromfile", "store")); err != nil {
		t.Fatalf("data_dir from the file not used: %v", err)
	}
	cancel()
	if code := <-done; code != 0 && code != exitInterrupted {
		t.Fatalf("node exited %d: %s", code, errb.String())
	}
}

func TestCLINodeRejectsBadConfig(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "bad.yaml")
	os.WriteFile(conf, []byte("listen: tcp://127.0.0.1:*\nblok_size: 1MiB\n"), 0o644)
	r := runCLI(t, nil, "node", "--config", conf)
	if r.code != exitUsage || !strings.Contains(r.stderr, "blok_size") {
		t.Fatalf("unknown key: %+v", r)
	}
	r = runCLI(t, nil, "node", "--data-dir", dir, "--block-size", "3")
	if r.code != exitUsage || !strings.Contains(r.stderr, "block_size") {
		t.Fatalf("bad block size: %+v", r)
	}
}

func TestCLINoSpaceExitCode(t *testing.T) {
	dir := tmpfs.Mount(t, "40m")
	n := nodetest.Start(t, func(c *node.Config) {
		c.DataDir = dir
		c.ValueLogFileSize, c.MemTableSize, c.BlockCacheSize = 2<<20, 2<<20, 1<<20
	})
	for i := 0; i < 100; i++ {
		r := runCLI(t, testdata.Bytes(uint64(i), 3<<20), "--node="+n.Endpoint(), "put", "-")
		if r.code == 0 {
			continue
		}
		if r.code != exitNoSpace || !strings.Contains(r.stderr, "no space") || strings.Count(r.stderr, "\n") != 1 {
			t.Fatalf("put on a full disk: %+v", r)
		}
		return
	}
	t.Fatal("the disk never filled")
}
