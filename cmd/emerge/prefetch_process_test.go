package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/internal/proctest"
)

func groupsOf(t *testing.T, bin, ep string) []string {
	t.Helper()
	r := proctest.CLI(t, bin, nil, "--node", ep, "group", "ls", "--json")
	var gs []string
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &gs) != nil {
		t.Fatalf("group ls: %+v", r)
	}
	return gs
}

// The CLI contract a benchmark script relies on: `node --group`, `group
// join/leave/ls` (kept across a restart), `put --prefetch-group --wait` and
// `prefetch status --json`.
func TestProcessGroupsAndPrefetch(t *testing.T) {
	bin := proctest.Binary(t)
	nodes := proctest.Cluster(t, bin, 2, "--replicas", "1")
	member := proctest.Join(t, bin, nodes[0], "--replicas", "1", "--group", "actor", "--group", "learner")
	if gs := groupsOf(t, bin, member.Ready.RPC); !slices.Equal(gs, []string{"actor", "learner"}) {
		t.Fatalf("node --group twice: groups %v", gs)
	}
	joiner := nodes[1]
	if r := proctest.CLI(t, bin, nil, "--node", joiner.Ready.RPC, "group", "join", "actor"); r.Code != 0 ||
		strings.TrimSpace(r.Stdout) != "actor" {
		t.Fatalf("group join: %+v", r)
	}
	joiner.Stop()
	joiner.Start()
	if gs := groupsOf(t, bin, joiner.Ready.RPC); !slices.Equal(gs, []string{"actor"}) {
		t.Fatalf("after a restart: groups %v", gs)
	}
	all := []*proctest.Node{nodes[0], joiner, member}
	nodetest.WaitFor(t, 30*time.Second, "the source to see both members of actor", func() bool {
		r := proctest.CLI(t, bin, nil, "--node", nodes[0].Ready.RPC, "peers", "--json")
		var ms []client.Member
		json.Unmarshal([]byte(r.Stdout), &ms)
		n := 0
		for _, m := range ms {
			if m.State == "alive" && slices.Contains(m.Groups, "actor") {
				n++
			}
		}
		return n == 2
	})
	waitMembers(t, bin, all, 3)

	in := writeFile(t, t.TempDir(), 31, 24<<20)
	if r := proctest.CLI(t, bin, nil, "--node", nodes[0].Ready.RPC, "put", in, "--wait"); r.Code != exitUsage {
		t.Fatalf("put --wait without a prefetch target: %+v", r)
	}
	put := proctest.CLI(t, bin, nil, "--node", nodes[0].Ready.RPC, "put", in, "--prefetch-group", "actor", "--wait")
	if put.Code != 0 {
		t.Fatalf("put --prefetch-group --wait: %+v", put)
	}
	ref := strings.TrimSpace(put.Stdout)
	r := proctest.CLI(t, bin, nil, "--node", nodes[0].Ready.RPC, "prefetch", "status", ref, "--json")
	var st client.PrefetchStatus
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &st) != nil {
		t.Fatalf("prefetch status: %+v", r)
	}
	if done, failed := st.Done(); !done || len(failed) > 0 || len(st.Nodes) != 2 {
		t.Fatalf("status after --wait: %+v", st)
	}
	for _, n := range []*proctest.Node{joiner, member} {
		if got := nodeStatus(t, bin, n.Ready.RPC).Blocks; got < 24 {
			t.Fatalf("member %s holds %d blocks, want 24", n.Ready.ID, got)
		}
	}
	// An object already stored, spread afterwards: prefetch start --wait.
	later := writeFile(t, t.TempDir(), 32, 4<<20)
	put = proctest.CLI(t, bin, nil, "--node", nodes[0].Ready.RPC, "put", later)
	ref = strings.TrimSpace(put.Stdout)
	if r := proctest.CLI(t, bin, nil, "--node", nodes[0].Ready.RPC, "prefetch", "start", ref, "--group", "actor", "--wait"); r.Code != 0 {
		t.Fatalf("prefetch start --wait: %+v", r)
	}
	r = proctest.CLI(t, bin, nil, "--node", nodes[0].Ready.RPC, "prefetch", "status", ref, "--json")
	st = client.PrefetchStatus{}
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &st) != nil {
		t.Fatalf("prefetch status: %+v", r)
	}
	if done, failed := st.Done(); !done || len(failed) > 0 || len(st.Nodes) != 2 {
		t.Fatalf("status after prefetch start --wait: %+v", st)
	}
	if r := proctest.CLI(t, bin, nil, "--node", joiner.Ready.RPC, "group", "leave", "actor"); r.Code != 0 {
		t.Fatalf("group leave: %+v", r)
	}
	if gs := groupsOf(t, bin, joiner.Ready.RPC); len(gs) != 0 {
		t.Fatalf("after leave: groups %v", gs)
	}
}
