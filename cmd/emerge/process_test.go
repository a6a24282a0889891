package main

import (
	"encoding/json"
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

// writeFile writes stream(seed, n) to a file and returns its path.
func writeFile(t *testing.T, dir string, seed uint64, n int64) string {
	t.Helper()
	p := filepath.Join(dir, "in-"+strings.ReplaceAll(time.Now().Format("150405.000000"), ".", ""))
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadFrom(testdata.New(seed, n)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

func fileDigest(t *testing.T, p string) [32]byte {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := testdata.NewDigest()
	f.WriteTo(d)
	return d.Sum()
}

func nodeStatus(t *testing.T, bin, ep string) client.NodeStatus {
	t.Helper()
	r := proctest.CLI(t, bin, nil, "--node", ep, "info", "--json")
	var st client.NodeStatus
	if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil {
		t.Fatalf("info: %+v", r)
	}
	return st
}

// The built binary as node and as CLI: sizes around the block boundary and
// 300 MiB, garbage on the port meanwhile, then a graceful restart and a
// kill -9 restart, reading everything back each time.
func TestProcessRoundTripAndRestarts(t *testing.T) {
	bin := proctest.Binary(t)
	n := proctest.StartNode(t, bin, "--replicas", "1")
	dir := t.TempDir()
	want := map[string][32]byte{}
	stop := make(chan struct{})
	garbage := make(chan int, 1)
	go func() { z, tc := nodetest.Garbage(n.Ready.RPC, stop); garbage <- z + tc }()
	oneByte := "" // a file's put keeps its base name in meta
	for i, size := range []int64{0, 1, 1 << 20, 1<<20 + 1, 300 << 20} {
		in := writeFile(t, dir, uint64(i), size)
		if size == 1 {
			oneByte = filepath.Base(in)
		}
		r := proctest.CLI(t, bin, nil, "--node", n.Ready.RPC, "put", in)
		if r.Code != 0 {
			t.Fatalf("put %d bytes: %+v", size, r)
		}
		want[strings.TrimSpace(r.Stdout)] = fileDigest(t, in)
	}
	close(stop)
	if <-garbage == 0 {
		t.Fatal("garbage sender did not run")
	}
	c, err := client.Dial(nodetest.Context(t, time.Minute), n.Ready.RPC, nil)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := c.PutBytes(nodetest.Context(t, time.Minute), testdata.Bytes(1, 1),
		client.PutOptions{Meta: map[string]string{"name": oneByte}})
	c.Close()
	if _, ok := want[ref.String()]; err != nil || !ok {
		t.Fatalf("Go client and CLI disagree on the ref of the same byte: %s %v", ref, err)
	}
	readAll := func(when string) {
		for ref, sum := range want {
			out := filepath.Join(dir, "out")
			if r := proctest.CLI(t, bin, nil, "--node", n.Ready.RPC, "get", ref, "-o", out); r.Code != 0 {
				t.Fatalf("%s: get %s: %+v", when, ref, r)
			}
			if fileDigest(t, out) != sum {
				t.Fatalf("%s: %s came back different", when, ref)
			}
		}
	}
	readAll("first run")
	id := n.Ready.ID
	n.Stop()
	n.Start()
	readAll("after SIGTERM restart")
	n.Kill()
	n.Start()
	readAll("after kill -9 restart")
	if n.Ready.ID != id {
		t.Fatalf("node id changed across restarts: %s -> %s", id, n.Ready.ID)
	}
}

// kill -9 the node in the middle of a put: the CLI fails fast with the
// unreachable exit code, and the restarted node shows no object and keeps
// no block of it.
func TestProcessKillDuringPut(t *testing.T) {
	bin := proctest.Binary(t)
	n := proctest.StartNode(t, bin, "--replicas", "1")
	in := writeFile(t, t.TempDir(), 9, 256<<20)
	put := proctest.Start(t, bin, "--node", n.Ready.RPC, "put", in)
	nodetest.WaitFor(t, time.Minute, "the put to store some blocks", func() bool {
		return put.Exited() || nodeStatus(t, bin, n.Ready.RPC).Blocks >= 8
	})
	if put.Exited() {
		t.Skip("the put finished before the node could be killed (machine too fast for this test)")
	}
	n.Kill()
	r := put.Wait()
	if r.Code != exitUnreachable || strings.Count(r.Stderr, "\n") != 1 {
		t.Fatalf("put against a killed node: code %d, stderr %q", r.Code, r.Stderr)
	}
	n.Start()
	ls := proctest.CLI(t, bin, nil, "--node", n.Ready.RPC, "ls", "--json")
	if strings.TrimSpace(ls.Stdout) != "[]" {
		t.Fatalf("half put visible after restart: %s", ls.Stdout)
	}
	if st := nodeStatus(t, bin, n.Ready.RPC); st.Blocks != 0 || st.Objects != 0 {
		t.Fatalf("restarted node keeps %d blocks and %d objects of an interrupted put", st.Blocks, st.Objects)
	}
	if r := proctest.CLI(t, bin, nil, "--node", n.Ready.RPC, "put", in); r.Code != 0 {
		t.Fatalf("put after restart: %+v", r)
	}
}
