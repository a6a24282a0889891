package node_test

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/internal/testdata"
	"github.com/emerge-dev/emerge/node"
)

// gatedReader yields r, calling gate once after the first after bytes: a
// put that stops in the middle until a condition holds (or fails with the
// gate's error).
type gatedReader struct {
	r      io.Reader
	after  int64
	n      int64
	gate   func() error
	passed bool
}

func (g *gatedReader) Read(p []byte) (int, error) {
	if !g.passed && g.n >= g.after {
		g.passed = true
		if err := g.gate(); err != nil {
			return 0, err
		}
	}
	if !g.passed {
		p = p[:min(int64(len(p)), g.after-g.n)]
	}
	n, err := g.r.Read(p)
	g.n += int64(n)
	return n, err
}

// waitUntil polls cond for up to d; an error names what did not happen.
func waitUntil(d time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// holdsEvery reports whether n stores every block of ids.
func holdsEvery(n *node.Node, ids []blocks.ID) bool {
	has, err := n.Store().HasBlocks(ids)
	return err == nil && !slices.Contains(has, false)
}

// holdsNone reports whether n stores none of the blocks of ids.
func holdsNone(n *node.Node, ids []blocks.ID) bool {
	has, err := n.Store().HasBlocks(ids)
	return err == nil && !slices.Contains(has, true)
}

// blockIDs are the ids of the first k blocks of size bytes of seed.
func blockIDs(seed uint64, size int64, bs, k int) []blocks.ID {
	data := testdata.Bytes(seed, int(size))
	out := make([]blocks.ID, k)
	for i := range out {
		out[i] = blocks.Sum(data[i*bs : (i+1)*bs])
	}
	return out
}

const swarmBlock = 256 << 10

// swarmCluster is a source (node 0) and four members of group "actor".
func swarmCluster(t *testing.T) []*node.Node {
	nodes := nodetest.Cluster(t, 5, func(i int, c *node.Config) {
		if i >= 1 {
			c.Groups = []string{"actor"}
		}
		c.BlockSize = swarmBlock
	})
	nodetest.WaitFor(t, 10*time.Second, "groups to spread", func() bool {
		return countInGroup(nodes[0], "actor") == 4
	})
	return nodes
}

// A put with a prefetch group spreads while it lands: halfway through the
// put, every target already holds the blocks sent so far; when the put
// returns the prefetch is started by the node, every target ends up with
// the object, and the source pushed its replicas to targets and served
// them little besides.
func TestPutSwarmTargetsPullBeforeCommit(t *testing.T) {
	nodes := swarmCluster(t)
	targets := nodes[1:]
	size := int64(32 * swarmBlock)
	first := blockIDs(5, size, swarmBlock, 8)
	ctx := nodetest.Context(t, 2*time.Minute)
	src := nodetest.Client(t, nodes[0])
	r := &gatedReader{r: testdata.New(5, size), after: 16 * swarmBlock, gate: func() error {
		return waitUntil(30*time.Second, "the targets to pull the first blocks before commit", func() bool {
			for _, n := range targets {
				if !holdsEvery(n, first) {
					return false
				}
			}
			return true
		})
	}}
	ref, err := src.Put(ctx, r, client.PutOptions{PrefetchGroups: []string{"actor"}})
	if err != nil {
		t.Fatalf("put: %v", err)
	}
	st, err := src.WaitPrefetch(ctx, ref, 20*time.Millisecond, nil)
	if err != nil {
		t.Fatalf("wait: %v (%+v)", err, st)
	}
	for _, n := range targets {
		if !holdsAll(n, ref) {
			m, use, err := n.Store().Manifest(ref)
			var missing []int
			if err == nil {
				has, _ := n.Store().HasBlocks(m.Blocks)
				for i, h := range has {
					if !h {
						missing = append(missing, i)
					}
				}
			}
			time.Sleep(2 * time.Second)
			t.Fatalf("target %s reported done but lacks blocks: manifest %v use %v, missing %v; 2s later holds all: %v; status %+v", n.ID(), err, use, missing, holdsAll(n, ref), st)
		}
	}
	served := float64(st.Served) / float64(size)
	t.Logf("source served %.2f copies to the targets besides its replica pushes", served)
	if served > 1 {
		t.Fatalf("source served %.2f copies, want at most one", served)
	}
}

// An aborted put with a prefetch group leaves no object anywhere, and the
// targets drop the blocks they pulled for it.
func TestPutSwarmAbortDropsPulledBlocks(t *testing.T) {
	nodes := swarmCluster(t)
	targets := nodes[1:]
	size := int64(32 * swarmBlock)
	first := blockIDs(6, size, swarmBlock, 8)
	ctx := nodetest.Context(t, 2*time.Minute)
	src := nodetest.Client(t, nodes[0])
	errStop := errors.New("input ends in error")
	r := &gatedReader{r: testdata.New(6, size), after: 16 * swarmBlock, gate: func() error {
		if err := waitUntil(30*time.Second, "the targets to pull the first blocks", func() bool {
			for _, n := range targets {
				if !holdsEvery(n, first) {
					return false
				}
			}
			return true
		}); err != nil {
			return err
		}
		return errStop
	}}
	_, err := src.Put(ctx, r, client.PutOptions{PrefetchGroups: []string{"actor"}})
	if !errors.Is(err, errStop) {
		t.Fatalf("put: %v, want the input's error", err)
	}
	nodetest.WaitFor(t, 30*time.Second, "every node to drop the aborted put's blocks", func() bool {
		for _, n := range nodes {
			if !holdsNone(n, first) {
				return false
			}
		}
		return true
	})
	for _, n := range nodes {
		objs, err := n.Store().List(blocks.Ref{}, 10)
		if err != nil || len(objs) != 0 {
			t.Fatalf("node %s lists %d objects after an aborted put (%v)", n.ID(), len(objs), err)
		}
	}
}

// A replica owner killed in the middle of a put at replicas 2 whose pushes
// run behind its writes: with min_replicas 2 the put either fails with
// ErrUnavailable and leaves no object on the survivors, or returns with
// every block on two survivors; with min_replicas 1 it returns, and every
// block has as many copies among the survivors as it reports.
func TestReplicaOwnerDiesMidPipelinedPut(t *testing.T) {
	for _, least := range []int{2, 1} {
		t.Run(fmt.Sprintf("min_replicas=%d", least), func(t *testing.T) {
			nodes := nodetest.Cluster(t, 4, func(_ int, c *node.Config) { c.BlockSize = swarmBlock })
			survivors := nodes[:3]
			size := int64(32 * swarmBlock)
			seed := uint64(10 + least)
			ctx := nodetest.Context(t, 2*time.Minute)
			src := nodetest.Client(t, nodes[0])
			r := &gatedReader{r: testdata.New(seed, size), after: 16 * swarmBlock, gate: func() error {
				return nodes[3].Kill()
			}}
			res, err := src.PutObject(ctx, r, client.PutOptions{Replicas: 2, MinReplicas: least})
			if err != nil {
				if least == 1 || !errors.Is(err, client.ErrUnavailable) {
					t.Fatalf("put at min_replicas %d: %v", least, err)
				}
				for _, n := range survivors {
					if objs, err := n.Store().List(blocks.Ref{}, 10); err != nil || len(objs) != 0 {
						t.Fatalf("node %s lists %d objects after a failed put (%v)", n.ID(), len(objs), err)
					}
				}
				return
			}
			if res.Copies < least {
				t.Fatalf("put returned with %d copies, min_replicas %d", res.Copies, least)
			}
			for i, id := range blockIDs(seed, size, swarmBlock, 32) {
				held := 0
				for _, n := range survivors {
					if holdsEvery(n, []blocks.ID{id}) {
						held++
					}
				}
				if held < res.Copies {
					t.Fatalf("block %d on %d survivors, the put reported %d copies", i, held, res.Copies)
				}
			}
		})
	}
}
