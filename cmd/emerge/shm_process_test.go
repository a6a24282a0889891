package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/internal/proctest"
	"github.com/emerge-dev/emerge/internal/testdata"
)

// The built binary as node and CLI on one machine: put and get go through
// shared memory (the node counts them), byte-exact, and a Go client in
// this process maps what the CLI put. kill -9 leaves hot copies in shm_dir;
// the restarted node removes them and makes them again on demand.
func TestProcessShmRoundTripAndRestart(t *testing.T) {
	bin := proctest.Binary(t)
	n := proctest.StartNode(t, bin, "--replicas", "1", "--shm-bytes", "64MiB")
	dir := t.TempDir()
	sizes := []int64{3<<20 + 1, 20 << 20}
	refs := make([]string, len(sizes))
	for i, size := range sizes {
		in := writeFile(t, dir, uint64(i)+40, size)
		r := proctest.CLI(t, bin, nil, "--node", n.Ready.RPC, "put", in)
		if r.Code != 0 {
			t.Fatalf("put %d bytes: %+v", size, r)
		}
		refs[i] = strings.TrimSpace(r.Stdout)
		out := filepath.Join(dir, "out")
		if r := proctest.CLI(t, bin, nil, "--node", n.Ready.RPC, "get", refs[i], "-o", out); r.Code != 0 {
			t.Fatalf("get %s: %+v", refs[i], r)
		}
		if fileDigest(t, out) != fileDigest(t, in) {
			t.Fatalf("%d bytes came back different through shared memory", size)
		}
	}
	if s := nodeStatus(t, bin, n.Ready.RPC).Shm; s == nil || s.Puts != 2 || s.Gets != 2 {
		t.Fatalf("CLI put and get did not go through shared memory: %+v", s)
	}
	ctx := nodetest.Context(t, time.Minute)
	c, err := client.Dial(ctx, n.Ready.RPC, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ref, _ := client.ParseRef(refs[1])
	v, err := c.GetView(ctx, ref)
	if err != nil || !v.Mapped() || testdata.Sum(41, sizes[1]) != sumOf(v.Bytes()) {
		t.Fatalf("view from another process: err %v, mapped %v", err, v != nil && v.Mapped())
	}
	defer v.Close()

	hot := filepath.Join(n.ShmDir, refs[1])
	if _, err := os.Stat(hot); err != nil {
		t.Fatalf("no hot copy at %s: %v", hot, err)
	}
	n.Kill()
	if _, err := os.Stat(hot); err != nil {
		t.Fatalf("kill -9 removed the hot copy (it cannot): %v", err)
	}
	n.Start()
	if _, err := os.Stat(hot); !os.IsNotExist(err) {
		t.Fatalf("restarted node kept a stale hot copy: %v", err)
	}
	if testdata.Sum(41, sizes[1]) != sumOf(v.Bytes()) {
		t.Fatal("a view open across the node's crash and restart changed")
	}
	out := filepath.Join(dir, "again")
	if r := proctest.CLI(t, bin, nil, "--node", n.Ready.RPC, "get", refs[1], "-o", out); r.Code != 0 ||
		fileDigest(t, out) != testdata.Sum(41, sizes[1]) {
		t.Fatalf("get after restart: %+v", r)
	}
	if s := nodeStatus(t, bin, n.Ready.RPC).Shm; s == nil || s.Gets != 1 || s.Objects != 1 {
		t.Fatalf("get after restart did not make the object hot again: %+v", s)
	}
}

// An object larger than shm_bytes goes by streaming both ways, and
// --no-shm streams whatever the size.
func TestProcessShmLargerThanCapacity(t *testing.T) {
	bin := proctest.Binary(t)
	n := proctest.StartNode(t, bin, "--replicas", "1", "--shm-bytes", "4MiB")
	dir := t.TempDir()
	in := writeFile(t, dir, 50, 9<<20)
	small := writeFile(t, dir, 51, 2<<20)
	var refs []string
	for _, args := range [][]string{{"put", in}, {"--no-shm", "put", small}} {
		r := proctest.CLI(t, bin, nil, append([]string{"--node", n.Ready.RPC}, args...)...)
		if r.Code != 0 {
			t.Fatalf("%v: %+v", args, r)
		}
		refs = append(refs, strings.TrimSpace(r.Stdout))
	}
	out := filepath.Join(dir, "out")
	if r := proctest.CLI(t, bin, nil, "--node", n.Ready.RPC, "get", refs[0], "-o", out); r.Code != 0 ||
		fileDigest(t, out) != fileDigest(t, in) {
		t.Fatalf("get of an object larger than shm: %+v", r)
	}
	if r := proctest.CLI(t, bin, nil, "--node", n.Ready.RPC, "--no-shm", "get", refs[1], "-o", out); r.Code != 0 ||
		fileDigest(t, out) != fileDigest(t, small) {
		t.Fatalf("get --no-shm: %+v", r)
	}
	if s := nodeStatus(t, bin, n.Ready.RPC).Shm; s == nil || s.Puts != 0 || s.Gets != 0 || s.Used > 4<<20 {
		t.Fatalf("streamed put and get used shared memory: %+v", s)
	}
}

func sumOf(b []byte) [32]byte {
	d := testdata.NewDigest()
	d.Write(b)
	return d.Sum()
}
