package names_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/internal/vcluster"
	"github.com/emerge-dev/emerge/names"
)

// 50 virtual nodes (membership, anti-entropy over rpc, the bus: everything
// but sockets), each clock skewed by up to ±5 s, split in two by a
// partition. Writers on both sides bind and remove names concurrently;
// after the heal every namespace converges to identical digests holding
// every entry written.
func TestVirtualPartitionSkewConverge(t *testing.T) {
	n := 50
	if testing.Short() || raceEnabled {
		n = 16
	}
	skews := make([]time.Duration, n)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 5))
	for i := range skews {
		skews[i] = time.Duration(rng.IntN(10001)-5000) * time.Millisecond
	}
	c := vcluster.New(t, n, vcluster.Options{Names: true, NamesSync: 500 * time.Millisecond,
		NamesClock: func(i int) func() time.Time { return func() time.Time { return time.Now().Add(skews[i]) } }})
	var left, right []string
	for i, node := range c.Nodes {
		if i%2 == 0 {
			left = append(left, node.Name)
		} else {
			right = append(right, node.Name)
		}
	}
	c.Net.Partition(left, right)
	ctx := context.Background()
	var written atomic.Int64
	var wg sync.WaitGroup
	for i, node := range c.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 10; k++ {
				p := fmt.Sprintf("/p/%d", (i+k)%12)
				var err error
				if k%4 == 3 {
					_, _, err = node.Names.Remove(ctx, p, false)
				} else {
					_, err = node.Names.Bind(ctx, p, ref(i*100+k), namesBind())
				}
				if err == nil {
					written.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if d0, d1 := c.Nodes[0].Names.Namespace().Digests(), c.Nodes[1].Names.Namespace().Digests(); fmt.Sprint(d0) == fmt.Sprint(d1) {
		t.Fatal("the two sides of the partition hold the same namespace before the heal")
	}
	c.Net.Heal()
	c.WaitFor(2*time.Minute, "every namespace to converge after the heal", func() bool {
		want := fmt.Sprint(c.Nodes[0].Names.Namespace().Digests())
		for _, node := range c.Nodes {
			if node.Names.Namespace().Len() != int(written.Load()) || fmt.Sprint(node.Names.Namespace().Digests()) != want {
				return false
			}
		}
		return true
	})
	// Every node resolves every name to the same version and object.
	for p := 0; p < 12; p++ {
		path := fmt.Sprintf("/p/%d", p)
		first, err0 := c.Nodes[0].Names.Resolve(ctx, path)
		for _, node := range c.Nodes[1:] {
			e, err := node.Names.Resolve(ctx, path)
			if (err == nil) != (err0 == nil) || e.Version != first.Version || e.Ref != first.Ref {
				t.Fatalf("%s: %s resolves to version %d (%v), %s to %d (%v)", path, c.Nodes[0].Name, first.Version, err0,
					node.Name, e.Version, err)
			}
		}
	}
}

func ref(i int) blocks.Ref {
	var r blocks.Ref
	copy(r[:], fmt.Sprintf("ref-%d", i))
	return r
}

func namesBind() names.BindOptions { return names.BindOptions{} }
