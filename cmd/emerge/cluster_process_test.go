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
)

func peerStates(t *testing.T, bin, ep string) map[string]string {
	t.Helper()
	r := proctest.CLI(t, bin, nil, "--node", ep, "peers", "--json")
	var ms []client.Member
	if err := json.Unmarshal([]byte(r.Stdout), &ms); err != nil {
		return nil
	}
	out := map[string]string{}
	for _, m := range ms {
		out[m.ID] = m.State
	}
	return out
}

func waitMembers(t *testing.T, bin string, nodes []*proctest.Node, alive int) {
	t.Helper()
	nodetest.WaitFor(t, 30*time.Second, "every node to see the members alive", func() bool {
		for _, n := range nodes {
			c := 0
			for _, s := range peerStates(t, bin, n.Ready.RPC) {
				if s == "alive" {
					c++
				}
			}
			if c != alive {
				return false
			}
		}
		return true
	})
}

// kill -9 the owners serving a fetch, one after another, until one is left:
// the get on a fourth node completes byte-exact.
func TestProcessFailoverKill9(t *testing.T) {
	const size = 256 << 20
	bin := proctest.Binary(t)
	owners := proctest.Cluster(t, bin, 3, "--replicas", "3")
	in := writeFile(t, t.TempDir(), 21, size)
	put := proctest.CLI(t, bin, nil, "--node", owners[0].Ready.RPC, "put", in)
	if put.Code != 0 {
		t.Fatalf("put: %+v", put)
	}
	ref := strings.TrimSpace(put.Stdout)
	reader := proctest.Join(t, bin, owners[1], "--fetch-window", "2")
	waitMembers(t, bin, append(owners, reader), 4)

	out := filepath.Join(t.TempDir(), "out")
	get := proctest.Start(t, bin, "--node", reader.Ready.RPC, "get", ref, "-o", out)
	blocks := func() int64 { return nodeStatus(t, bin, reader.Ready.RPC).Blocks }
	for i, victim := range owners[:2] {
		at := int64(256 * (i + 1) / 3)
		nodetest.WaitFor(t, 2*time.Minute, "the reader to fetch its share", func() bool { return get.Exited() || blocks() >= at })
		if get.Exited() {
			t.Fatalf("the get finished before owner %d was killed: %+v", i, get.Wait())
		}
		victim.Kill()
	}
	r := get.Wait()
	if r.Code != 0 {
		t.Fatalf("get after killing two of three owners: %+v", r)
	}
	if fileDigest(t, out) != fileDigest(t, in) {
		t.Fatal("object differs after failover")
	}
	if !strings.Contains(reader.Log(), "moving to another candidate") { // files/mover logs each failed transfer so
		t.Fatal("no block moved to another owner: the kills did not hit a transfer in flight")
	}
}

// kill -9 two of five nodes (replicas 3): every object stays readable and
// the survivors report both as dead.
func TestProcessNodeLoss(t *testing.T) {
	bin := proctest.Binary(t)
	nodes := proctest.Cluster(t, bin, 5, "--replicas", "3", "--block-size", "256KiB")
	dir := t.TempDir()
	want := map[string][32]byte{}
	for i := 0; i < 8; i++ {
		in := writeFile(t, dir, uint64(100+i), int64(1<<20+i*333_333))
		r := proctest.CLI(t, bin, nil, "--node", nodes[i%5].Ready.RPC, "put", in)
		if r.Code != 0 {
			t.Fatalf("put: %+v", r)
		}
		want[strings.TrimSpace(r.Stdout)] = fileDigest(t, in)
	}
	nodes[1].Kill()
	nodes[3].Kill()
	survivors := []*proctest.Node{nodes[0], nodes[2], nodes[4]}
	nodetest.WaitFor(t, 30*time.Second, "survivors to report both departures", func() bool {
		for _, s := range survivors {
			st := peerStates(t, bin, s.Ready.RPC)
			if st[nodes[1].Ready.ID] != "dead" || st[nodes[3].Ready.ID] != "dead" {
				return false
			}
		}
		return true
	})
	for _, s := range survivors {
		for ref, sum := range want {
			out := filepath.Join(dir, "out")
			if r := proctest.CLI(t, bin, nil, "--node", s.Ready.RPC, "get", ref, "-o", out); r.Code != 0 {
				t.Fatalf("get %s from %s after losing two nodes: %+v", ref[:12], s.Ready.ID, r)
			}
			if fileDigest(t, out) != sum {
				t.Fatal("object differs")
			}
		}
	}
}

// kill -9 a node and restart it with its data dir: same id, it rejoins, and
// it serves its blocks (the other holders are gone by then).
func TestProcessRestartServesBlocks(t *testing.T) {
	bin := proctest.Binary(t)
	nodes := proctest.Cluster(t, bin, 3, "--replicas", "3")
	in := writeFile(t, t.TempDir(), 5, 20<<20)
	r := proctest.CLI(t, bin, nil, "--node", nodes[0].Ready.RPC, "put", in)
	if r.Code != 0 {
		t.Fatalf("put: %+v", r)
	}
	ref := strings.TrimSpace(r.Stdout)
	victim := nodes[1]
	id := victim.Ready.ID
	victim.Kill()
	victim.Start()
	if victim.Ready.ID != id {
		t.Fatalf("restarted node has a new id: %s -> %s", id, victim.Ready.ID)
	}
	waitMembers(t, bin, nodes, 3)
	nodes[0].Kill()
	nodes[2].Kill()
	fresh := proctest.Join(t, bin, victim)
	out := filepath.Join(t.TempDir(), "out")
	if r := proctest.CLI(t, bin, nil, "--node", fresh.Ready.RPC, "get", ref, "-o", out); r.Code != 0 {
		t.Fatalf("get served by the restarted node: %+v", r)
	}
	if fileDigest(t, out) != fileDigest(t, in) {
		t.Fatal("object differs")
	}
	_ = os.Remove
}
