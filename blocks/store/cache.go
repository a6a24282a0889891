package store

import (
	"container/list"
	"sync"
	"time"

	"github.com/emerge-dev/emerge/blocks"
)

// cacheIndex keeps the objects this store holds as cached copies (manifest
// use UseCache) in least-recently-read order, with their sizes. It lives in
// memory: Open rebuilds it from the stored manifests, ordered by the time
// each copy was made; reads (Manifest) move an object to the front.
type cacheIndex struct {
	mu    sync.Mutex
	order *list.List // of *cacheEntry, most recently read first
	byRef map[blocks.Ref]*list.Element
	bytes int64
}

type cacheEntry struct {
	ref  blocks.Ref
	size int64
	at   time.Time // last read (or the copy's time at Open)
}

func newCacheIndex() *cacheIndex {
	return &cacheIndex{order: list.New(), byRef: map[blocks.Ref]*list.Element{}}
}

// put records ref as cached (size bytes), most recently read.
func (c *cacheIndex) put(ref blocks.Ref, size int64, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byRef[ref]; ok {
		ent := e.Value.(*cacheEntry)
		c.bytes += size - ent.size
		ent.size, ent.at = size, at
		c.order.MoveToFront(e)
		return
	}
	c.byRef[ref] = c.order.PushFront(&cacheEntry{ref: ref, size: size, at: at})
	c.bytes += size
}

// touch marks ref as just read, if it is cached.
func (c *cacheIndex) touch(ref blocks.Ref, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byRef[ref]; ok {
		e.Value.(*cacheEntry).at = at
		c.order.MoveToFront(e)
	}
}

// remove forgets ref.
func (c *cacheIndex) remove(ref blocks.Ref) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byRef[ref]; ok {
		c.bytes -= e.Value.(*cacheEntry).size
		c.order.Remove(e)
		delete(c.byRef, ref)
	}
}

// oldest returns up to n least recently read entries, oldest first.
func (c *cacheIndex) oldest(n int) []cacheEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []cacheEntry
	for e := c.order.Back(); e != nil && len(out) < n; e = e.Prev() {
		out = append(out, *e.Value.(*cacheEntry))
	}
	return out
}

// stats returns the number of cached objects and their bytes.
func (c *cacheIndex) stats() (n int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byRef), c.bytes
}

// committed updates the index after a commit of ref stored use: a cached
// copy is (re)recorded as just read, an owner copy is not a cache entry.
func (s *Store) committed(ref blocks.Ref, use Use, size int64) {
	if use == UseCache {
		s.cache.put(ref, size, s.cfg.Clock())
	} else {
		s.cache.remove(ref)
	}
}
