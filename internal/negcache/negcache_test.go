package negcache

import (
	"sync"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestMissUntilExpiry(t *testing.T) {
	clk := &clock{t: time.Unix(1000, 0)}
	c := New[string](Config{TTL: time.Second, Now: clk.now})
	if c.Missing("a") {
		t.Fatal("unknown key reported missing")
	}
	c.Add("a")
	if !c.Missing("a") {
		t.Fatal("a miss was not remembered")
	}
	clk.t = clk.t.Add(999 * time.Millisecond)
	if !c.Missing("a") {
		t.Fatal("a miss forgotten before its TTL")
	}
	clk.t = clk.t.Add(time.Millisecond)
	if c.Missing("a") || c.Len() != 0 {
		t.Fatal("a miss outlived its TTL")
	}
}

func TestForget(t *testing.T) {
	c := New[int](Config{})
	c.Add(1)
	c.Forget(1)
	if c.Missing(1) {
		t.Fatal("forgotten key still missing")
	}
}

func TestBounded(t *testing.T) {
	c := New[int](Config{Max: 100})
	for i := 0; i < 10000; i++ {
		c.Add(i)
		if i%3 == 0 {
			c.Forget(i)
		}
	}
	if c.Len() > 100 {
		t.Fatalf("%d keys kept, max 100", c.Len())
	}
	if len(c.order) > 200 {
		t.Fatalf("order list of %d for max 100", len(c.order))
	}
	if !c.Missing(9998) || c.Missing(0) {
		t.Fatal("eviction did not drop the oldest keys first")
	}
}

func TestNilCacheIsEmpty(t *testing.T) {
	var c *Cache[int]
	c.Add(1)
	c.Forget(1)
	if c.Missing(1) {
		t.Fatal("nil cache reported a miss")
	}
}

func TestConcurrent(t *testing.T) {
	c := New[int](Config{Max: 64})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				c.Add(g*1000 + i)
				c.Missing(i)
				c.Forget(i)
			}
		}()
	}
	wg.Wait()
	if c.Len() > 64 {
		t.Fatalf("%d keys kept, max 64", c.Len())
	}
}
