package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/internal/proctest"
	"github.com/emerge-dev/emerge/internal/testdata"
)

// Self-healing with real `emerge node` processes: kill -9, restarts,
// flipped bytes in a value log, SIGSTOP, put/rm races, a node alone.

// healArgs: 64 KiB blocks and repair in seconds.
var healArgs = []string{"--block-size", "64KiB", "--repair-delay", "2s", "--repair-interval", "3s"}

func dialNode(t *testing.T, n *proctest.Node) *client.Client {
	t.Helper()
	c, err := client.Dial(context.Background(), n.Ready.RPC, &client.Options{NoShm: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

type object struct {
	ref  blocks.Ref
	data []byte
}

func putObjects(t *testing.T, c *client.Client, n int, opts client.PutOptions) []object {
	t.Helper()
	ctx := nodetest.Context(t, 2*time.Minute)
	var out []object
	for i := 0; i < n; i++ {
		data := testdata.Bytes(uint64(1000+i), 64<<10+i*997)
		ref, err := c.PutBytes(ctx, data, opts)
		if err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
		out = append(out, object{ref, data})
	}
	return out
}

// atTarget reports whether every block of every object has at least want
// durable copies, all on members of alive.
func atTarget(ctx context.Context, c *client.Client, objs []object, want int, alive map[string]bool) (bool, string) {
	for _, o := range objs {
		h, err := c.Holders(ctx, o.ref)
		if err != nil {
			return false, err.Error()
		}
		for i, b := range h.Blocks {
			live := 0
			for _, m := range b.Owners {
				if alive == nil || alive[m] {
					live++
				}
			}
			if live < want {
				return false, fmt.Sprintf("object %s block %d: %d live copies %v", o.ref.Short(), i, live, b.Owners)
			}
		}
	}
	return true, ""
}

func waitTarget(t *testing.T, c *client.Client, objs []object, want int, alive map[string]bool, d time.Duration) {
	t.Helper()
	var why string
	nodetest.WaitFor(t, d, "every block back at its target", func() bool {
		ok, w := atTarget(context.Background(), c, objs, want, alive)
		why = w
		return ok
	})
	_ = why
}

func getAllFrom(t *testing.T, nodes []*proctest.Node, objs []object) {
	t.Helper()
	ctx := nodetest.Context(t, 2*time.Minute)
	for _, n := range nodes {
		c := dialNode(t, n)
		for _, o := range objs {
			got, err := c.GetBytes(ctx, o.ref)
			if err != nil || !bytes.Equal(got, o.data) {
				t.Fatalf("get %s through %s: %v", o.ref.Short(), n.Ready.ID, err)
			}
		}
	}
}

// 5 nodes at replicas 3 with 100 objects; kill -9 two: every object is back
// at 3 live copies within the repair delay plus a bounded time, byte-exact
// from every survivor.
func TestProcessRepairAfterKill9(t *testing.T) {
	bin := proctest.Binary(t)
	nodes := proctest.Cluster(t, bin, 5, append([]string{"--replicas", "3"}, healArgs...)...)
	waitMembers(t, bin, nodes, 5)
	objs := putObjects(t, dialNode(t, nodes[0]), 100, client.PutOptions{})
	nodes[3].Kill()
	nodes[4].Kill()
	survivors := nodes[:3]
	alive := map[string]bool{}
	for _, n := range survivors {
		alive[n.Ready.ID] = true
	}
	waitTarget(t, dialNode(t, nodes[1]), objs, 3, alive, 2*time.Minute)
	getAllFrom(t, survivors, objs)
}

// A member stopped and restarted within the repair delay costs no repair
// bytes: every node runs repair passes after it is back, and none copied
// anything.
func TestProcessRestartWithinRepairDelayCostsNothing(t *testing.T) {
	bin := proctest.Binary(t)
	args := []string{"--replicas", "2", "--block-size", "64KiB", "--repair-delay", "1m", "--repair-interval", "1s"}
	nodes := proctest.Cluster(t, bin, 3, args...)
	waitMembers(t, bin, nodes, 3)
	putObjects(t, dialNode(t, nodes[0]), 20, client.PutOptions{})
	nodes[2].Kill()
	waitMembers(t, bin, nodes[:2], 2)
	nodes[2].Start()
	back := time.Now()
	waitMembers(t, bin, nodes, 3)
	for _, n := range nodes {
		c := dialNode(t, n)
		var h client.Health
		nodetest.WaitFor(t, time.Minute, "a repair pass after the restart on "+n.Ready.ID, func() bool {
			var err error
			h, err = c.Health(context.Background())
			return err == nil && h.LastRepairPass.After(back.Add(2*time.Second))
		})
		if h.RepairedCopies != 0 || h.RepairedBytes != 0 {
			t.Errorf("%s repaired %d copies (%d bytes) for a member back within the repair delay", n.Ready.ID,
				h.RepairedCopies, h.RepairedBytes)
		}
	}
}

// A put on a lone node succeeds under target; a second node that joins
// receives the second copies without anyone asking.
func TestProcessLoneNodeThenASecond(t *testing.T) {
	bin := proctest.Binary(t)
	a := proctest.StartNode(t, bin, append(append([]string{}, proctest.FastArgs...), healArgs...)...)
	objs := putObjects(t, dialNode(t, a), 5, client.PutOptions{Replicas: 2})
	b := proctest.Join(t, bin, a, healArgs...)
	waitTarget(t, dialNode(t, a), objs, 2, nil, time.Minute)
	getAllFrom(t, []*proctest.Node{b}, objs)
}

// 50 rounds of put, rm, put of the same bytes through different nodes:
// after the last put every node serves the object.
func TestProcessPutRmPutRounds(t *testing.T) {
	bin := proctest.Binary(t)
	nodes := proctest.Cluster(t, bin, 3, "--replicas", "2", "--block-size", "64KiB")
	waitMembers(t, bin, nodes, 3)
	cs := []*client.Client{dialNode(t, nodes[0]), dialNode(t, nodes[1]), dialNode(t, nodes[2])}
	ctx := nodetest.Context(t, 3*time.Minute)
	data := testdata.Bytes(77, 200<<10)
	var ref blocks.Ref
	for i := 0; i < 50; i++ {
		var err error
		if ref, err = cs[i%3].PutBytes(ctx, data, client.PutOptions{}); err != nil {
			t.Fatalf("round %d put: %v", i, err)
		}
		if _, err := cs[(i+1)%3].Delete(ctx, ref); err != nil {
			t.Fatalf("round %d rm: %v", i, err)
		}
		if ref, err = cs[(i+2)%3].PutBytes(ctx, data, client.PutOptions{}); err != nil {
			t.Fatalf("round %d second put: %v", i, err)
		}
	}
	for i, c := range cs {
		got, err := c.GetBytes(ctx, ref)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("after the last put, node %d: %v", i, err)
		}
	}
}

// rm of a ref nobody stored changes nothing: not found before and after.
func TestProcessRmOfUnknownRefChangesNothing(t *testing.T) {
	bin := proctest.Binary(t)
	nodes := proctest.Cluster(t, bin, 2)
	waitMembers(t, bin, nodes, 2)
	ref := blocks.Ref(blocks.Sum([]byte("never stored"))).String()
	for _, args := range [][]string{{"rm", ref}, {"stat", ref}} {
		r := proctest.CLI(t, bin, nil, append([]string{"--node", nodes[1].Ready.RPC}, args...)...)
		if r.Code != 3 || !strings.Contains(r.Stderr, "not found") || strings.Contains(r.Stderr, "deleted") {
			t.Fatalf("%v of an unknown ref: %+v", args, r)
		}
	}
}

// One of three members frozen (SIGSTOP): puts and gets through the others
// finish though pushes and block requests to it hang; a context shorter
// than the push timeout (30 s) and the block timeout (15 s) holds it.
func TestProcessFrozenMemberCostsTheSuspectTime(t *testing.T) {
	bin := proctest.Binary(t)
	nodes := proctest.Cluster(t, bin, 3, "--replicas", "3", "--min-replicas", "2", "--block-size", "64KiB")
	waitMembers(t, bin, nodes, 3)
	objs := putObjects(t, dialNode(t, nodes[0]), 3, client.PutOptions{})
	frozen := nodes[2]
	frozen.Signal(syscall.SIGSTOP)
	defer frozen.Signal(syscall.SIGCONT)
	c0, c1 := dialNode(t, nodes[0]), dialNode(t, nodes[1])
	for i := 0; i < 5; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 12*time.Second)
		data := testdata.Bytes(uint64(5000+i), 300<<10)
		ref, err := c0.PutBytes(ctx, data, client.PutOptions{})
		if err == nil {
			var got []byte
			got, err = c1.GetBytes(ctx, ref)
			if err == nil && !bytes.Equal(got, data) {
				err = errors.New("wrong bytes")
			}
		}
		for _, o := range objs {
			if err == nil {
				_, err = c1.GetBytes(ctx, o.ref)
			}
		}
		cancel()
		if err != nil {
			t.Fatalf("round %d with a frozen member: %v", i, err)
		}
	}
}

// Bytes flipped in a replica's value log — a sealed file and the active
// one — are found (by a read, the scrub, or the open that finds a value
// lost), never served: gets through that node, streamed and through
// shared memory, return the right bytes, and the copies are repaired.
func TestProcessFlippedBytesInValueLog(t *testing.T) {
	bin := proctest.Binary(t)
	args := []string{"--replicas", "2", "--block-size", "64KiB", "--value-log-file-size", "1MiB",
		"--repair-delay", "2s", "--repair-interval", "2s", "--scrub-interval", "3s"}
	nodes := proctest.Cluster(t, bin, 3, args...)
	waitMembers(t, bin, nodes, 3)
	victim := nodes[1]
	// Objects put through the victim: it holds every block.
	objs := putObjects(t, dialNode(t, victim), 40, client.PutOptions{})
	victim.Kill()
	vlogs := valueLogs(t, filepath.Join(victim.DataDir, "store"))
	if len(vlogs) < 2 {
		t.Fatalf("want a sealed and an active value-log file, have %v", vlogs)
	}
	first, last := objs[0], objs[len(objs)-1]
	flipIn(t, vlogs[0], first.data[4096:4160])
	flipIn(t, vlogs[len(vlogs)-1], last.data[4096:4160])
	victim.Start()
	waitMembers(t, bin, nodes, 3)
	c := dialNode(t, victim)
	ctx := nodetest.Context(t, time.Minute)
	for _, o := range []object{first, last} {
		got, err := c.GetBytes(ctx, o.ref)
		if err != nil || !bytes.Equal(got, o.data) {
			t.Fatalf("streamed get of %s through the damaged node: %v", o.ref.Short(), err)
		}
		r := proctest.CLI(t, bin, nil, "--node", victim.Ready.RPC, "get", o.ref.String(), "-o",
			filepath.Join(t.TempDir(), "out"))
		if r.Code != 0 {
			t.Fatalf("shared-memory get through the damaged node: %+v", r)
		}
	}
	nodetest.WaitFor(t, time.Minute, "the damaged node to report corrupt copies", func() bool {
		h, err := c.Health(context.Background())
		return err == nil && h.CorruptCopies >= 1
	})
	waitTarget(t, dialNode(t, nodes[0]), objs, 2, nil, time.Minute)
}

// valueLogs lists a Badger directory's value-log files in order.
func valueLogs(t *testing.T, dir string) []string {
	t.Helper()
	vs, err := filepath.Glob(filepath.Join(dir, "*.vlog"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(vs)
	return vs
}

// flipIn flips a byte of the first occurrence of pattern in file.
func flipIn(t *testing.T, file string, pattern []byte) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, pattern)
	if i < 0 {
		t.Fatalf("pattern not in %s", file)
	}
	f, err := os.OpenFile(file, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte{b[i+10] ^ 0xff}, int64(i+10)); err != nil {
		t.Fatal(err)
	}
}
