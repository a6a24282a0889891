package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/internal/proctest"
)

// Random concurrent writers on 5 `emerge node` processes, one client per
// process, bind and remove 12 names; every process ends with the same
// versions of every name. Then one process is killed with SIGKILL and
// restarted: it comes back with the same namespace.
func TestProcessNamesConverge(t *testing.T) {
	bin := proctest.Binary(t)
	nodes := proctest.Cluster(t, bin, 5, "--names-sync-interval", "1s")
	waitMembers(t, bin, nodes, 5)
	ctx := nodetest.Context(t, 2*time.Minute)
	paths := make([]string, 12)
	for i := range paths {
		paths[i] = fmt.Sprintf("/proc/d%d/p%d", i%3, i)
	}
	var wg sync.WaitGroup
	for i, n := range nodes {
		c := dialNode(t, n)
		ref, err := c.PutBytes(ctx, []byte(fmt.Sprintf("object of %d", i)), client.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 2))
			for k := 0; k < 40; k++ {
				p := paths[rng.IntN(len(paths))]
				var err error
				if rng.IntN(5) == 0 {
					_, err = c.RemoveName(ctx, p, false)
				} else {
					_, err = c.Bind(ctx, p, ref, client.BindOptions{})
				}
				if err != nil && !errors.Is(err, blocks.ErrNotFound) && !errors.Is(err, blocks.ErrDeleted) {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	same := func() bool {
		want := namespaceOf(t, ctx, dialNode(t, nodes[0]), paths)
		for _, n := range nodes[1:] {
			if namespaceOf(t, ctx, dialNode(t, n), paths) != want {
				return false
			}
		}
		return true
	}
	nodetest.WaitFor(t, time.Minute, "identical namespaces on the 5 processes", same)
	before := namespaceOf(t, ctx, dialNode(t, nodes[4]), paths)
	nodes[4].Kill()
	nodes[4].Start()
	if got := namespaceOf(t, ctx, dialNode(t, nodes[4]), paths); got != before {
		t.Fatalf("after kill -9 and restart:\n%s\nbefore:\n%s", got, before)
	}
}

// namespaceOf prints every version of every path as the node sees it.
func namespaceOf(t *testing.T, ctx context.Context, c *client.Client, paths []string) string {
	s := ""
	for _, p := range paths {
		vs, err := c.Versions(ctx, p)
		if errors.Is(err, blocks.ErrNotFound) {
			s += p + " none\n"
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			s += fmt.Sprintf("%s@%d %s %s %v\n", p, v.Version, v.HLC, v.Writer, v.Removed)
		}
	}
	return s
}
