package node_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/internal/testdata"
	"github.com/emerge-dev/emerge/node"
)

// fastNames syncs the namespace (and scans for unnamed objects) every
// 200 ms and deletes unnamed objects without a grace.
func fastNames(i int, c *node.Config) {
	c.NamesSyncInterval = 200 * time.Millisecond
	c.NamesFreeGrace = -1
}

func sameNamespace(nodes []*node.Node) bool {
	want := fmt.Sprint(nodes[0].Names().Namespace().Digests())
	for _, n := range nodes[1:] {
		if fmt.Sprint(n.Names().Namespace().Digests()) != want {
			return false
		}
	}
	return true
}

// Random concurrent writers on 5 nodes, each through its own node, bind,
// rebind, move and remove overlapping names; every namespace ends
// identical, holding every entry written.
func TestNamesConcurrentWritersConverge(t *testing.T) {
	nodes := nodetest.Cluster(t, 5, fastNames)
	ctx := nodetest.Context(t, time.Minute)
	var refs []blocks.Ref
	c0 := nodetest.Client(t, nodes[0])
	for i := 0; i < 4; i++ {
		ref, err := c0.PutBytes(ctx, []byte(fmt.Sprintf("object %d", i)), client.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ref)
	}
	var wg sync.WaitGroup
	var written atomic.Int64
	for i, n := range nodes {
		c := nodetest.Client(t, n)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			for k := 0; k < 40; k++ {
				p := fmt.Sprintf("/w/d%d/p%d", rng.IntN(2), rng.IntN(6))
				var err error
				switch rng.IntN(8) {
				case 0:
					_, err = c.RemoveName(ctx, p, false)
				case 1:
					_, err = c.Move(ctx, p, p+"-moved")
					if err == nil {
						written.Add(1) // a move writes two entries
					}
				default:
					_, err = c.Bind(ctx, p, refs[rng.IntN(len(refs))], client.BindOptions{})
				}
				if errors.Is(err, blocks.ErrNotFound) || errors.Is(err, blocks.ErrDeleted) {
					continue // not (or no longer) bound, as this node sees it
				}
				if err != nil {
					t.Error(err)
					return
				}
				written.Add(1)
			}
		}(i)
	}
	wg.Wait()
	nodetest.WaitFor(t, 30*time.Second, "identical namespaces", func() bool { return sameNamespace(nodes) })
	for _, n := range nodes {
		if got := n.Names().Namespace().Len(); int64(got) != written.Load() {
			t.Fatalf("node %s holds %d entries, %d were written", n.ID(), got, written.Load())
		}
	}
	// Every node resolves every name the same way.
	items, err := c0.ListNames(ctx, "/", true)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes[1:] {
		other, err := nodetest.Client(t, n).ListNames(ctx, "/", true)
		if err != nil || !slices.EqualFunc(items, other, func(a, b client.NameItem) bool {
			return a.Path == b.Path && a.Latest.Ref == b.Latest.Ref && a.Latest.Version == b.Latest.Version
		}) {
			t.Fatalf("node %s lists another namespace (%v)", n.ID(), err)
		}
	}
}

// A node closed while the others (and it) write rejoins with what it had
// persisted, and catches up on what it missed.
func TestNamesRestartMidWrite(t *testing.T) {
	var cfgs []node.Config
	nodes := nodetest.Cluster(t, 3, func(i int, c *node.Config) {
		fastNames(i, c)
		cfgs = append(cfgs, *c)
	})
	ctx := nodetest.Context(t, time.Minute)
	ref, err := nodetest.Client(t, nodes[0]).PutBytes(ctx, []byte("policy"), client.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		c := nodetest.Client(t, nodes[i])
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := c.Bind(ctx, fmt.Sprintf("/r/%d/%d", i, k%50), ref, client.BindOptions{}); err != nil {
					t.Error(err)
					return
				}
			}
		}(i)
	}
	victim := nodes[2]
	vc, err := client.Dial(ctx, victim.Endpoint(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k < 30; k++ {
		if _, err := vc.Bind(ctx, fmt.Sprintf("/v/%d", k), ref, client.BindOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	vc.Close()
	nodetest.WaitFor(t, 10*time.Second, "others to write while the victim is up", func() bool {
		return victim.Names().Namespace().Len() > 60
	})
	held := victim.Names().Namespace().Len()
	victim.Close()
	cfg := cfgs[2]
	cfg.Peers = nil
	back := nodetest.StartConfig(t, cfg)
	if got := back.Names().Namespace().Len(); got < held {
		t.Fatalf("restarted with %d entries, had %d", got, held)
	}
	if _, err := back.Names().Resolve(ctx, "/v/29"); err != nil {
		t.Fatalf("own name after restart: %v", err)
	}
	close(stop)
	wg.Wait()
	all := []*node.Node{nodes[0], nodes[1], back}
	nodetest.WaitFor(t, 30*time.Second, "the restarted node to catch up", func() bool { return sameNamespace(all) })
}

// Compare-and-set: writers on every node race to create the same names
// (IfVersion 0), then to make version 2; the path's owner lets exactly one
// through each time, the others get ErrConflict.
func TestNamesCompareAndSet(t *testing.T) {
	nodes := nodetest.Cluster(t, 3, fastNames)
	ctx := nodetest.Context(t, time.Minute)
	var cls []*client.Client
	var refs []blocks.Ref
	for _, n := range nodes {
		c := nodetest.Client(t, n)
		ref, err := c.PutBytes(ctx, []byte("candidate of "+n.ID()), client.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cls, refs = append(cls, c, c), append(refs, ref, ref)
	}
	for _, version := range []int{0, 1} {
		for p := 0; p < 8; p++ {
			path := fmt.Sprintf("/cas/%d", p)
			var won, lost atomic.Int32
			var wg sync.WaitGroup
			for i, c := range cls {
				wg.Add(1)
				go func() {
					defer wg.Done()
					v := version
					_, err := c.Bind(ctx, path, refs[i], client.BindOptions{IfVersion: &v})
					switch {
					case err == nil:
						won.Add(1)
					case errors.Is(err, client.ErrConflict):
						lost.Add(1)
					default:
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if won.Load() != 1 || lost.Load() != int32(len(cls)-1) {
				t.Fatalf("%s at version %d: %d won, %d lost", path, version, won.Load(), lost.Load())
			}
			nodetest.WaitFor(t, 10*time.Second, "the winner to reach every node", func() bool {
				for _, n := range nodes {
					if e, err := n.Names().Resolve(ctx, path); err != nil || e.Version != version+1 {
						return false
					}
				}
				return true
			})
		}
	}
}

// rm of one name leaves an object another name holds; rm of the last name
// (all versions) deletes it.
func TestNamesRemoveKeepsSharedObject(t *testing.T) {
	nodes := nodetest.Cluster(t, 2, fastNames)
	ctx := nodetest.Context(t, time.Minute)
	c := nodetest.Client(t, nodes[0])
	ref, err := c.PutBytes(ctx, []byte("shared bytes"), client.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/a/x", "/b/y"} {
		if _, err := c.Bind(ctx, p, ref, client.BindOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	c1 := nodetest.Client(t, nodes[1])
	nodetest.WaitFor(t, 10*time.Second, "the names to reach node 1", func() bool {
		_, err := c1.Resolve(ctx, "/b/y")
		return err == nil
	})
	res, err := c1.RemoveName(ctx, "/a/x", true)
	if err != nil || len(res.Deleted) != 0 {
		t.Fatalf("rm /a/x: deleted %v, %v", res.Deleted, err)
	}
	nodetest.WaitFor(t, 10*time.Second, "the removal to reach node 0", func() bool {
		_, err := c.Resolve(ctx, "/a/x")
		return errors.Is(err, blocks.ErrDeleted)
	})
	r, _, err := c.GetName(ctx, "/b/y")
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	res, err = c.RemoveName(ctx, "/b/y", true)
	if err != nil || !slices.Equal(res.Deleted, []blocks.Ref{ref}) {
		t.Fatalf("rm /b/y: deleted %v, %v", res.Deleted, err)
	}
	if _, err := c.GetBytes(ctx, ref); !errors.Is(err, blocks.ErrDeleted) && !errors.Is(err, blocks.ErrNotFound) {
		t.Fatalf("object after its last name went: %v", err)
	}
}

// holdsObject reports whether n stores every block of ref.
func holdsObject(n *node.Node, ref blocks.Ref) bool {
	m, _, err := n.Store().Manifest(ref)
	if err != nil {
		return false
	}
	has, err := n.Store().HasBlocks(m.Blocks)
	if err != nil {
		return false
	}
	for _, h := range has {
		if !h {
			return false
		}
	}
	return true
}

// A follow rule on the writer's node delivers versions 1..20 of a name to
// every member of a group of 4, each within a bounded time of its bind.
func TestNamesFollowDeliversEveryVersion(t *testing.T) {
	nodes := nodetest.Cluster(t, 5, func(i int, c *node.Config) {
		fastNames(i, c)
		c.Replicas = 1
		if i > 0 {
			c.Groups = []string{"actor"}
		}
	})
	ctx := nodetest.Context(t, 2*time.Minute)
	c := nodetest.Client(t, nodes[0])
	if rules, err := c.Follow(ctx, "/policy/", []string{"actor"}); err != nil || len(rules) != 1 {
		t.Fatalf("follow: %v %v", rules, err)
	}
	var slowest time.Duration
	for v := 1; v <= 20; v++ {
		start := time.Now()
		e, err := c.PutName(ctx, "/policy/latest", bytes.NewReader(testdata.Bytes(uint64(v), 200<<10)),
			client.PutOptions{BlockSize: 64 << 10}, client.BindOptions{})
		if err != nil || e.Version != v {
			t.Fatalf("version %d: %+v %v", v, e, err)
		}
		nodetest.WaitFor(t, 30*time.Second, fmt.Sprintf("version %d at every actor", v), func() bool {
			for _, n := range nodes[1:] {
				if !holdsObject(n, e.Ref) {
					return false
				}
			}
			return true
		})
		slowest = max(slowest, time.Since(start))
	}
	t.Logf("slowest version reached all 4 actors %s after its put began", slowest)
	if rules, err := c.Unfollow(ctx, "/policy/"); err != nil || len(rules) != 0 {
		t.Fatalf("unfollow: %v %v", rules, err)
	}
}

// A name bound with a TTL resolves on every node until it expires, then
// on none, and leaves every listing; a later version without TTL is live.
func TestNamesTTLExpiresEverywhere(t *testing.T) {
	nodes := nodetest.Cluster(t, 3, func(i int, c *node.Config) {
		fastNames(i, c)
		c.NamesFreeGrace = time.Hour // the object outlives its name here: it is bound again below
	})
	ctx := nodetest.Context(t, time.Minute)
	c := nodetest.Client(t, nodes[0])
	ref, err := c.PutBytes(ctx, []byte("short-lived"), client.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := c.Bind(ctx, "/tmp/lease", ref, client.BindOptions{TTL: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	nodetest.WaitFor(t, 10*time.Second, "the name on every node", func() bool {
		for _, n := range nodes {
			if _, err := n.Names().Resolve(ctx, "/tmp/lease"); err != nil {
				return false
			}
		}
		return true
	})
	nodetest.WaitFor(t, 20*time.Second, "the name to expire on every node", func() bool {
		for _, n := range nodes {
			_, err := n.Names().Resolve(ctx, "/tmp/lease")
			items, _ := n.Names().List(ctx, "/tmp/", false)
			if !errors.Is(err, blocks.ErrDeleted) || len(items) != 0 {
				return false
			}
		}
		return true
	})
	if !time.Now().After(e.Created.Add(e.TTL)) {
		t.Fatalf("expired before %s", e.Created.Add(e.TTL))
	}
	if _, err := c.Bind(ctx, "/tmp/lease", ref, client.BindOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Resolve(ctx, "/tmp/lease"); err != nil || got.Version != 2 {
		t.Fatalf("a version without TTL after expiry: %+v %v", got, err)
	}
}

// goneEverywhere reports whether no node holds ref's manifest any more.
func goneEverywhere(nodes []*node.Node, ref blocks.Ref) bool {
	for _, n := range nodes {
		if _, _, err := n.Store().Manifest(ref); err == nil {
			return false
		}
	}
	return true
}

// Five puts to a name with keep 2 leave 2 versions, and the objects of
// the 3 erased ones go from every node (after a grace); an erased version
// whose object another name holds keeps its object.
func TestNamesKeepDeletesOldObjects(t *testing.T) {
	nodes := nodetest.Cluster(t, 3, func(i int, c *node.Config) {
		fastNames(i, c)
		c.NamesFreeGrace = 50 * time.Millisecond
	})
	ctx := nodetest.Context(t, time.Minute)
	c := nodetest.Client(t, nodes[0])
	var refs []blocks.Ref
	for v := 1; v <= 5; v++ {
		e, err := c.PutName(ctx, "/keep/p", bytes.NewReader(testdata.Bytes(uint64(v), 100<<10)),
			client.PutOptions{BlockSize: 64 << 10}, client.BindOptions{Keep: 2})
		if err != nil || e.Version != v {
			t.Fatalf("version %d: %+v %v", v, e, err)
		}
		refs = append(refs, e.Ref)
	}
	nodetest.WaitFor(t, 20*time.Second, "the 3 oldest objects gone from every node", func() bool {
		for _, ref := range refs[:3] {
			if !goneEverywhere(nodes, ref) {
				return false
			}
		}
		return true
	})
	for i, n := range nodes {
		vs, err := n.Names().Versions(ctx, "/keep/p")
		if err != nil || len(vs) != 5 {
			t.Fatalf("node %d: %d versions, %v", i, len(vs), err)
		}
		for _, v := range vs {
			if v.Erased != (v.Version <= 3) {
				t.Fatalf("node %d: version %d erased %v", i, v.Version, v.Erased)
			}
		}
		for _, ref := range refs[3:] {
			if b, err := nodetest.Client(t, n).GetBytes(ctx, ref); err != nil || len(b) != 100<<10 {
				t.Fatalf("node %d: a kept version: %v", i, err)
			}
		}
	}

	shared, err := c.PutName(ctx, "/keep/q", bytes.NewReader([]byte("held elsewhere")), client.PutOptions{}, client.BindOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Bind(ctx, "/keep/other", shared.Ref, client.BindOptions{}); err != nil {
		t.Fatal(err)
	}
	nodetest.WaitFor(t, 10*time.Second, "/keep/other on every node", func() bool {
		for _, n := range nodes {
			if _, err := n.Names().Resolve(ctx, "/keep/other"); err != nil {
				return false
			}
		}
		return true
	})
	last, err := nodetest.Client(t, nodes[1]).PutName(ctx, "/keep/q", bytes.NewReader([]byte("newer")), client.PutOptions{},
		client.BindOptions{Keep: 1})
	if err != nil || last.Version != 2 {
		t.Fatalf("/keep/q@2: %+v %v", last, err)
	}
	// Wait until every node holds the erasing entry and had time to act;
	// then the shared object must still be readable from every node.
	nodetest.WaitFor(t, 10*time.Second, "/keep/q@1 erased on every node", func() bool {
		for _, n := range nodes {
			if _, err := n.Names().Resolve(ctx, "/keep/q@1"); !errors.Is(err, blocks.ErrDeleted) {
				return false
			}
			if n.FreesPending() != 0 {
				return false
			}
		}
		return true
	})
	for i, n := range nodes {
		if b, err := nodetest.Client(t, n).GetBytes(ctx, shared.Ref); err != nil || string(b) != "held elsewhere" {
			t.Fatalf("node %d: the object /keep/other names: %q %v", i, b, err)
		}
	}
}

// An object whose only name expired is deleted from every node.
func TestNamesTTLDeletesObject(t *testing.T) {
	nodes := nodetest.Cluster(t, 3, fastNames)
	ctx := nodetest.Context(t, time.Minute)
	c := nodetest.Client(t, nodes[1])
	e, err := c.PutName(ctx, "/lease/obj", bytes.NewReader(testdata.Bytes(7, 100<<10)), client.PutOptions{BlockSize: 64 << 10},
		client.BindOptions{TTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	nodetest.WaitFor(t, 30*time.Second, "the expired name's object gone from every node", func() bool {
		return goneEverywhere(nodes, e.Ref)
	})
	if !time.Now().After(e.Created.Add(e.TTL)) {
		t.Fatalf("deleted before the name expired at %s", e.Created.Add(e.TTL))
	}
	for i, n := range nodes {
		if _, err := nodetest.Client(t, n).GetBytes(ctx, e.Ref); err == nil {
			t.Fatalf("node %d still serves the object", i)
		}
	}
}

// A plain ref given a TTL (put --ttl without a name) goes everywhere when
// its /.ttl/ name expires; the ref alone was its only use.
func TestRefTTLDeletesObject(t *testing.T) {
	nodes := nodetest.Cluster(t, 3, fastNames)
	ctx := nodetest.Context(t, time.Minute)
	c := nodetest.Client(t, nodes[0])
	ref, err := c.PutBytes(ctx, testdata.Bytes(8, 100<<10), client.PutOptions{BlockSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Expire(ctx, ref, 0); !errors.Is(err, client.ErrBadRequest) {
		t.Fatalf("expire with no ttl: %v, want bad request", err)
	}
	e, err := c.Expire(ctx, ref, time.Second)
	if err != nil || e.Path != client.RefTTLDir+ref.String() {
		t.Fatalf("expire: %+v, %v", e, err)
	}
	nodetest.WaitFor(t, 30*time.Second, "the expired ref gone from every node", func() bool {
		return goneEverywhere(nodes, ref)
	})
	if !time.Now().After(e.Created.Add(e.TTL)) {
		t.Fatalf("deleted before the ttl ran out at %s", e.Created.Add(e.TTL))
	}
}

// A get that started before a version was erased finishes with every
// byte: the erasure schedules the object's deletion, the reader goes on
// reading across it, and only after the grace is the object gone.
func TestNamesGetInFlightAcrossErasure(t *testing.T) {
	nodes := nodetest.Cluster(t, 3, func(i int, c *node.Config) {
		fastNames(i, c)
		c.NamesFreeGrace = 10 * time.Second // longer than the rest of the read takes
	})
	ctx := nodetest.Context(t, time.Minute)
	c := nodetest.Client(t, nodes[0])
	want := testdata.Bytes(11, 2<<20)
	e, err := c.PutName(ctx, "/inflight/obj", bytes.NewReader(want), client.PutOptions{BlockSize: 64 << 10}, client.BindOptions{})
	if err != nil {
		t.Fatal(err)
	}
	reader := nodetest.Client(t, nodes[2])
	nodetest.WaitFor(t, 10*time.Second, "the name on node 2", func() bool {
		_, err := reader.Resolve(ctx, "/inflight/obj")
		return err == nil
	})
	r, _, err := reader.GetName(ctx, "/inflight/obj")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := make([]byte, 64<<10)
	if _, err := io.ReadFull(r, got); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutName(ctx, "/inflight/obj", bytes.NewReader([]byte("next")), client.PutOptions{},
		client.BindOptions{Keep: 1}); err != nil {
		t.Fatal(err)
	}
	nodetest.WaitFor(t, 10*time.Second, "the old object's deletion scheduled", func() bool {
		return nodes[0].FreesPending() > 0
	})
	rest, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("a get in flight across the erasure: %v", err)
	}
	if !bytes.Equal(append(got, rest...), want) {
		t.Fatal("a get in flight across the erasure read wrong bytes")
	}
	nodetest.WaitFor(t, 30*time.Second, "the old object gone from every node after the grace", func() bool {
		return goneEverywhere(nodes, e.Ref)
	})
}

// An object bound to a new name during the grace is not deleted.
func TestNamesBoundDuringGraceStays(t *testing.T) {
	nodes := nodetest.Cluster(t, 2, func(i int, c *node.Config) {
		fastNames(i, c)
		c.NamesFreeGrace = 3 * time.Second
	})
	ctx := nodetest.Context(t, time.Minute)
	c := nodetest.Client(t, nodes[0])
	e, err := c.PutName(ctx, "/grace/a", bytes.NewReader([]byte("saved")), client.PutOptions{}, client.BindOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.RemoveName(ctx, "/grace/a", true)
	if err != nil || len(res.Deleted) != 1 || res.Grace != 3*time.Second {
		t.Fatalf("rm --all-versions: %+v %v", res, err)
	}
	if _, err := nodetest.Client(t, nodes[1]).Bind(ctx, "/grace/b", e.Ref, client.BindOptions{}); err != nil {
		t.Fatal(err)
	}
	nodetest.WaitFor(t, 20*time.Second, "the grace over on every node", func() bool {
		for _, n := range nodes {
			if n.FreesPending() != 0 {
				return false
			}
		}
		return true
	})
	for i, n := range nodes {
		if b, err := nodetest.Client(t, n).GetBytes(ctx, e.Ref); err != nil || string(b) != "saved" {
			t.Fatalf("node %d: %q %v", i, b, err)
		}
	}
}
