// Package negcache remembers, for a while, keys whose lookup found nothing,
// so that asking again is refused at once instead of repeating an expensive
// search (a who-has across the network waits out its timeout). It is
// bounded: at most Max keys, the oldest dropped first.
package negcache

import (
	"sync"
	"time"
)

// Config configures a Cache. Zero values mean defaults.
type Config struct {
	TTL time.Duration    // how long a miss is remembered (default 10 s)
	Max int              // keys remembered at most (default 4096)
	Now func() time.Time // default time.Now
}

// Cache is a bounded set of keys known missing until some time. Safe for
// concurrent use.
type Cache[K comparable] struct {
	cfg Config

	mu    sync.Mutex
	until map[K]time.Time
	order []K // insertion order, oldest first; may hold keys already gone
}

// New returns an empty cache.
func New[K comparable](cfg Config) *Cache[K] {
	if cfg.TTL <= 0 {
		cfg.TTL = 10 * time.Second
	}
	if cfg.Max <= 0 {
		cfg.Max = 4096
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Cache[K]{cfg: cfg, until: make(map[K]time.Time)}
}

// Missing reports whether k was recorded missing and has not expired.
func (c *Cache[K]) Missing(k K) bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.until[k]
	if ok && !c.cfg.Now().Before(t) {
		delete(c.until, k)
		return false
	}
	return ok
}

// Add records k missing for TTL from now.
func (c *Cache[K]) Add(k K) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.until[k]; !ok {
		c.order = append(c.order, k)
	}
	c.until[k] = c.cfg.Now().Add(c.cfg.TTL)
	c.evict()
}

// Forget drops k: it was found after all.
func (c *Cache[K]) Forget(k K) {
	if c == nil {
		return
	}
	c.mu.Lock()
	delete(c.until, k)
	c.mu.Unlock()
}

// Len is the number of keys remembered (expired ones included until looked up
// or evicted).
func (c *Cache[K]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.until)
}

// evict drops the oldest keys past Max, and compacts order when it holds
// many keys already gone (forgotten or expired and looked up).
func (c *Cache[K]) evict() {
	for len(c.until) > c.cfg.Max && len(c.order) > 0 {
		delete(c.until, c.order[0])
		c.order = c.order[1:]
	}
	if len(c.order) > 2*c.cfg.Max {
		kept := make([]K, 0, len(c.until))
		for _, k := range c.order {
			if _, ok := c.until[k]; ok {
				kept = append(kept, k)
			}
		}
		c.order = kept
	}
}
