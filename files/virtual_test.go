package files_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/files"
	"github.com/emerge-dev/emerge/internal/testdata"
	"github.com/emerge-dev/emerge/internal/vcluster"
	"github.com/emerge-dev/emerge/internal/virtnet"
)

// The tests of this file run the peer protocol at scale on the virtual
// network: 100 nodes in one process (25 under the race detector; VN=n
// overrides). The real-socket tests of each feature live in node/ and
// cmd/emerge/.

func scale() int {
	if n, err := strconv.Atoi(os.Getenv("VN")); err == nil && n > 0 {
		return n
	}
	if raceEnabled {
		return 25
	}
	return 100
}

func vctx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func put(t *testing.T, n *vcluster.Node, seed uint64, size int, o files.PutOptions) (blocks.Ref, *blocks.Manifest, []byte) {
	t.Helper()
	data := testdata.Bytes(seed, size)
	st, err := n.Files.Put(vctx(t, time.Minute), bytes.NewReader(data), o)
	if err != nil {
		t.Fatalf("put on %s: %v", n.Name, err)
	}
	return st.Ref, st.Manifest, data
}

func get(ctx context.Context, n *vcluster.Node, ref blocks.Ref) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(4 << 20)
	_, err := n.Files.WriteTo(ctx, ref, &buf)
	return buf.Bytes(), err
}

// getAll gets ref on every node of nodes at once and fails on any error or
// wrong byte.
func getAll(t *testing.T, ctx context.Context, nodes []*vcluster.Node, ref blocks.Ref, want []byte) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(nodes))
	for _, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := get(ctx, n, ref)
			if err == nil && !bytes.Equal(got, want) {
				err = errWrongBytes(n.Name)
			}
			if err != nil {
				errs <- fmt.Errorf("get on %s: %w", n.Name, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

type errWrongBytes string

func (e errWrongBytes) Error() string { return string(e) + ": wrong bytes" }

// Every node gets an object while two of its three holders die in the
// middle of the transfers: requests in flight to them fail over, and every
// get ends byte-exact. The gets run in waves of a quarter of the nodes (two
// cores carry all of them); the holders die during the first wave.
func TestVirtualGetsWhileOwnersDie(t *testing.T) {
	c := vcluster.New(t, scale(), vcluster.Options{Link: virtnet.Link{Latency: 500 * time.Microsecond,
		Bandwidth: 100 << 20}})
	ref, m, data := put(t, c.Nodes[0], 1, 24*64<<10+7, files.PutOptions{Replicas: 3})
	var holders []*vcluster.Node // the two ranked holders of block 0 besides the entry node
	for _, n := range c.Holders(m.Blocks[0]) {
		if n.Index != 0 {
			holders = append(holders, n)
		}
	}
	var readers []*vcluster.Node
	for _, n := range c.Nodes[1:] {
		if !slices.Contains(holders, n) {
			readers = append(readers, n)
		}
	}
	ctx := vctx(t, 2*time.Minute)
	wave := max(len(readers)/4, 1)
	first := readers[:wave]
	done := make(chan struct{})
	go func() {
		defer close(done)
		getAll(t, ctx, first, ref, data)
	}()
	c.WaitFor(time.Minute, "the first wave under way", func() bool {
		for _, r := range first {
			if has, _ := r.Store.HasBlocks(m.Blocks[:2]); has[0] && has[1] {
				return true
			}
		}
		return false
	})
	for _, h := range holders {
		c.Kill(h.Index)
	}
	<-done
	for rest := readers[wave:]; len(rest) > 0; rest = rest[min(wave, len(rest)):] {
		getAll(t, ctx, rest[:min(wave, len(rest))], ref, data)
	}
}

// A swarm prefetch to a group of 60 (15 under -race): half the group is in
// it when the prefetch starts, the other half joins later and catches up.
// The source serves a fraction of the copies: the members serve each other.
func TestVirtualPrefetchWithLateJoiners(t *testing.T) {
	n := scale()
	group := n * 3 / 5
	c := vcluster.New(t, n, vcluster.Options{Link: virtnet.Link{Latency: 500 * time.Microsecond}})
	for i := 1; i <= group/2; i++ {
		c.JoinGroup(i, "actor")
	}
	src := c.Nodes[0]
	ref, m, _ := put(t, src, 2, 32*64<<10, files.PutOptions{Replicas: 2})
	if err := src.Files.Prefetch(vctx(t, time.Minute), ref, []string{"actor"}, nil); err != nil {
		t.Fatal(err)
	}
	for i := group/2 + 1; i <= group; i++ {
		c.JoinGroup(i, "actor")
	}
	c.WaitFor(2*time.Minute, "every member of the group to hold the object", func() bool {
		for _, nd := range c.Nodes[1 : group+1] {
			has, err := nd.Store.HasBlocks(m.Blocks)
			if err != nil {
				return false
			}
			for _, h := range has {
				if !h {
					return false
				}
			}
		}
		return true
	})
	copies := float64(src.Files.Served()) / float64(m.Size)
	t.Logf("group of %d: the source served %.2f copies", group, copies)
	if copies > float64(group)/3 {
		t.Errorf("the source served %.1f copies to a group of %d: members do not serve each other", copies, group)
	}
}

// A partition splits the cluster in two; each side keeps putting and
// getting its own objects; once healed, every object is readable from the
// other side and membership is whole again.
func TestVirtualPartitionHeals(t *testing.T) {
	n := scale()
	c := vcluster.New(t, n, vcluster.Options{})
	var left, right []string
	for i, nd := range c.Nodes {
		if i < n/2 {
			left = append(left, nd.Name)
		} else {
			right = append(right, nd.Name)
		}
	}
	c.Net.Partition(left, right)
	c.WaitConverged(c.Nodes[:1], n/2)
	c.WaitConverged(c.Nodes[n-1:], n-n/2)
	refL, _, dataL := put(t, c.Nodes[1], 3, 10*64<<10, files.PutOptions{Replicas: 2})
	refR, _, dataR := put(t, c.Nodes[n-2], 4, 10*64<<10, files.PutOptions{Replicas: 2})
	ctx := vctx(t, time.Minute)
	getAll(t, ctx, c.Nodes[n/2-3:n/2], refL, dataL)
	getAll(t, ctx, c.Nodes[n-3:], refR, dataR)
	c.Net.Heal()
	c.WaitConverged(c.Nodes, n)
	getAll(t, ctx, c.Nodes[n-3:], refL, dataL)
	getAll(t, ctx, c.Nodes[:3], refR, dataR)
}

// A frozen owner answers nothing and keeps its connections open: gets that
// asked it move on once the registry calls it suspect, well before the
// per-block timeout (15 s) that the context's 10 s would not survive.
func TestVirtualFrozenOwner(t *testing.T) {
	c := vcluster.New(t, scale(), vcluster.Options{})
	ref, m, data := put(t, c.Nodes[0], 5, 40*64<<10, files.PutOptions{Replicas: 2})
	var frozen *vcluster.Node // a holder of block 0 besides the entry node
	for _, h := range c.Holders(m.Blocks[0]) {
		if h.Index != 0 {
			frozen = h
			break
		}
	}
	if frozen == nil {
		t.Fatal("block 0 has no second holder")
	}
	c.Net.Freeze(frozen.Name)
	defer c.Net.Thaw(frozen.Name)
	var readers []*vcluster.Node
	for _, nd := range c.Nodes[1:] {
		if nd != frozen && len(readers) < 8 {
			readers = append(readers, nd)
		}
	}
	// A frozen owner costs each get about the mover's stall time, not a
	// block timeout; the race detector on a loaded machine stretches that.
	budget := 10 * time.Second
	if raceEnabled {
		budget = 40 * time.Second
	}
	getAll(t, vctx(t, budget), readers, ref, data)
}

// A put that names a prefetch group on 60% of the members spreads while it
// lands: when the put returns the prefetch is started, every member of the
// group ends up holding the object, and the source serves the members few
// pulls besides its replica pushes (which go to members of the group).
func TestVirtualPutToSwarm(t *testing.T) {
	n := scale()
	group := n * 3 / 5
	c := vcluster.New(t, n, vcluster.Options{Link: virtnet.Link{Latency: 500 * time.Microsecond}})
	for i := 1; i <= group; i++ {
		c.JoinGroup(i, "actor")
	}
	c.WaitFor(time.Minute, "the group to spread", func() bool {
		k := 0
		for _, m := range c.Nodes[0].Registry().Live() {
			if m.InGroup("actor") {
				k++
			}
		}
		return k == group
	})
	src := c.Nodes[0]
	ref, m, _ := put(t, src, 7, 32*64<<10, files.PutOptions{Replicas: 2, PrefetchGroups: []string{"actor"}})
	c.WaitFor(2*time.Minute, "every member of the group to hold the object", func() bool {
		for _, nd := range c.Nodes[1 : group+1] {
			if _, _, err := nd.Store.Manifest(ref); err != nil {
				return false
			}
			has, err := nd.Store.HasBlocks(m.Blocks)
			if err != nil || slices.Contains(has, false) {
				return false
			}
		}
		return true
	})
	copies := float64(src.Files.Served()) / float64(m.Size)
	t.Logf("group of %d: the source served %.2f copies besides its replica pushes", group, copies)
	if copies > 1 {
		t.Errorf("the source served %.1f copies to a group of %d", copies, group)
	}
}
