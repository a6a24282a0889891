package node_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/blocks/store"
	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/internal/testdata"
	"github.com/emerge-dev/emerge/internal/tmpfs"
	"github.com/emerge-dev/emerge/node"
)

// spaceDeadline bounds how long deleted space takes to come back to puts.
// A bound, not a speed check: the test logs what it measured.
const spaceDeadline = 3 * time.Minute

// The report's case through a real node: a 900 MiB filesystem, the store's
// default settings (256 MiB value-log files, 32 MiB memtables, 640 MiB
// reserve, gc_interval 5 min: only the test's ports, data and shm dirs and
// replicas 1 differ from DefaultConfig), filled until a put is refused for
// space; half the objects deleted; a new put succeeds within a bounded
// time, without a restart, and every surviving object is byte-exact.
func TestSpaceComesBackThroughTheNode(t *testing.T) {
	cfg := nodetest.Config(t)
	def := node.DefaultConfig()
	cfg.DataDir = tmpfs.Mount(t, "900m")
	cfg.ValueLogFileSize, cfg.MemTableSize, cfg.BlockCacheSize = def.ValueLogFileSize, def.MemTableSize, def.BlockCacheSize
	n := nodetest.StartConfig(t, cfg)
	cl := nodetest.Client(t, n)
	ctx := nodetest.Context(t, 10*time.Minute)
	const size = 8 << 20
	var refs []blocks.Ref
	for i := 0; ; i++ {
		ref, err := cl.PutBytes(ctx, testdata.Bytes(uint64(i), size), client.PutOptions{})
		if errors.Is(err, client.ErrNoSpace) {
			break
		}
		if err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
		refs = append(refs, ref)
	}
	if len(refs) < 10 {
		t.Fatalf("only %d objects of 8 MiB fit", len(refs))
	}
	for _, ref := range refs[:len(refs)/2] {
		if _, err := cl.Delete(ctx, ref); err != nil {
			t.Fatalf("delete on a full disk: %v", err)
		}
	}
	start := time.Now()
	var err error
	nodetest.WaitFor(t, spaceDeadline, "a put after deleting half", func() bool {
		_, err = cl.PutBytes(ctx, testdata.Bytes(1000, size), client.PutOptions{})
		if err != nil && !errors.Is(err, client.ErrNoSpace) {
			t.Fatalf("put after deleting half: %v", err)
		}
		return err == nil
	})
	st, _ := n.Store().Stats()
	t.Logf("%d objects of 8 MiB filled 900 MiB; half deleted; a put succeeded %s later (value log now %d MiB)",
		len(refs), time.Since(start).Round(time.Millisecond), st.VlogBytes>>20)
	for i, ref := range refs[len(refs)/2:] {
		got, err := cl.GetBytes(ctx, ref)
		if err != nil || !bytes.Equal(got, testdata.Bytes(uint64(len(refs)/2+i), size)) {
			t.Fatalf("surviving object %d: %v", i, err)
		}
	}
}

// Gets through a node that owns nothing fill its cache; past
// cache_max_bytes the least recently read cached copies are evicted, never
// an owner copy, and a get of an evicted object fetches it again.
func TestCacheEvictionThroughTheNode(t *testing.T) {
	const size, objects, keep = 1 << 20, 6, 3
	nodes := nodetest.Cluster(t, 2, func(i int, c *node.Config) {
		c.Replicas = 1
		if i == 1 {
			c.Groups = []string{"reader"}
			c.CacheMaxBytes = keep * size
		}
	})
	owner, reader := nodes[0], nodes[1]
	ctx := nodetest.Context(t, 5*time.Minute)
	oc, rc := nodetest.Client(t, owner), nodetest.Client(t, reader)
	var refs []blocks.Ref
	var seeds []uint64
	for seed := uint64(0); len(refs) < objects; seed++ {
		ref, err := oc.PutBytes(ctx, testdata.Bytes(seed, size), client.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := reader.Store().Manifest(ref); !errors.Is(err, blocks.ErrNotFound) {
			continue // placed on the reader: an owner copy there, not for this test
		}
		if _, use, err := owner.Store().Manifest(ref); err != nil || use != store.UseOwner {
			t.Fatalf("object put through the owner: use %v, %v", use, err)
		}
		refs, seeds = append(refs, ref), append(seeds, seed)
	}
	get := func(i int) {
		t.Helper()
		got, err := rc.GetBytes(ctx, refs[i])
		if err != nil || !bytes.Equal(got, testdata.Bytes(seeds[i], size)) {
			t.Fatalf("get %d through the reader: %v", i, err)
		}
	}
	for i := range keep {
		get(i)
	}
	nodetest.WaitFor(t, time.Minute, "3 cached copies on the reader", func() bool {
		st, _ := reader.Store().Stats()
		return st.CachedObjects == keep
	})
	get(0) // read again: 1 is now the least recently read
	get(keep)
	nodetest.WaitFor(t, time.Minute, "an eviction", func() bool {
		st, _ := reader.Store().Stats()
		return st.Evicted >= 1
	})
	if held := uses(t, reader); held[refs[1]] != 0 || held[refs[0]] != store.UseCache {
		t.Fatalf("object 1, the least recently read, not evicted first: 0 %v, 1 %v", held[refs[0]], held[refs[1]])
	}
	for i := keep + 1; i < objects; i++ {
		get(i)
	}
	nodetest.WaitFor(t, time.Minute, "eviction to cache_max_bytes", func() bool {
		st, _ := reader.Store().Stats()
		return st.CachedBytes <= keep*size && st.Evicted >= objects-keep
	})
	held := uses(t, reader)
	for i, ref := range refs {
		if cached := i >= objects-keep; cached != (held[ref] == store.UseCache) {
			t.Fatalf("object %d on the reader: %v; want cached %v", i, held[ref], cached)
		}
		if _, use, err := owner.Store().Manifest(ref); err != nil || use != store.UseOwner {
			t.Fatalf("owner copy of %d: use %v, %v", i, use, err)
		}
	}
	get(1) // evicted: fetched again
	if use := uses(t, reader)[refs[1]]; use != store.UseCache {
		t.Fatalf("evicted object fetched again: held as %v", use)
	}
	st, _ := reader.Store().Stats()
	t.Logf("reader: %d cached (%d bytes), %d evicted", st.CachedObjects, st.CachedBytes, st.Evicted)
}

// uses lists what n's store holds, by ref, without reading any object
// (a read would make it recently used).
func uses(t *testing.T, n *node.Node) map[blocks.Ref]store.Use {
	t.Helper()
	out := map[blocks.Ref]store.Use{}
	infos, err := n.Store().List(blocks.Ref{}, store.MaxList)
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range infos {
		out[info.Ref] = info.Use
	}
	return out
}
