package node_test

import (
	"bytes"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/node"
)

// With cache_off, a node that holds nothing of an object streams it to its
// readers byte-exact (two at once, and reads of single blocks) and
// stores none of its blocks.
func TestCacheOffStreamsWithoutKeeping(t *testing.T) {
	const size = 6<<20 + 123
	owner := nodetest.Cluster(t, 1, nil)[0]
	ctx := nodetest.Context(t, 2*time.Minute)
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*7 + i>>12)
	}
	ref, err := nodetest.Client(t, owner).Put(ctx, bytes.NewReader(data), client.PutOptions{BlockSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	cfg := nodetest.Config(t)
	nodetest.Fast(&cfg)
	cfg.ShmOff, cfg.CacheOff = true, true
	cfg.Peers = []string{owner.Endpoint()}
	g := nodetest.StartConfig(t, cfg)
	nodetest.WaitConverged(t, []*node.Node{owner, g}, 2)

	c := nodetest.Client(t, g)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for k := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf bytes.Buffer
			if _, err := c.GetTo(ctx, ref, &buf); err != nil {
				errs[k] = err
			} else if !bytes.Equal(buf.Bytes(), data) {
				errs[k] = io.ErrUnexpectedEOF
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("get through a cache_off node: %v", err)
		}
	}
	m, err := g.Files().Manifest(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	// A read in the middle starts a fetch there; a read of the head, while
	// that fetch runs, pulls its block alone.
	for _, i := range []int{len(m.Blocks) / 2, 0} {
		b, err := g.Files().ReadBlock(ctx, ref, m, i, nil)
		if err != nil || !bytes.Equal(b, data[i*m.BlockSize:(i+1)*m.BlockSize]) {
			t.Fatalf("block %d read alone: %d bytes, %v", i, len(b), err)
		}
	}
	has, err := g.Store().HasBlocks(m.Blocks)
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range has {
		if h {
			t.Fatalf("a cache_off node keeps block %d of an object it fetched", i)
		}
	}
}
