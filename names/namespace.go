package names

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/rs/zerolog"
)

// Config configures a Namespace.
type Config struct {
	// Node is this node's id: the writer of local entries. Required.
	Node string
	// Storage persists the namespace; nil keeps it in memory only.
	Storage Storage
	// Now is the physical clock; default time.Now. Tests skew it.
	Now func() time.Time
	// Logger; default silent.
	Logger zerolog.Logger
}

// Namespace is one node's copy of the replicated namespace. Safe for
// concurrent use.
type Namespace struct {
	cfg   Config
	clock clock

	mu      sync.RWMutex
	buckets [NumBuckets]bucket
	closed  bool
}

// pathEntries are a path's entries in key order.
type pathEntries []Entry

// Open builds a namespace and reads back what Storage holds.
func Open(cfg Config) (*Namespace, error) {
	if cfg.Node == "" {
		return nil, errors.New("names: Config.Node is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ns := &Namespace{cfg: cfg, clock: clock{now: cfg.Now}}
	for i := range ns.buckets {
		ns.buckets[i].paths = make(map[string]pathEntries)
	}
	if err := ns.load(); err != nil {
		return nil, err
	}
	return ns, nil
}

// Close makes every later write fail with ErrClosed. Idempotent.
func (ns *Namespace) Close() error {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ns.closed = true
	return nil
}

// Node is the id local entries are written under.
func (ns *Namespace) Node() string { return ns.cfg.Node }

// Write stamps e as a new local entry (HLC, writer, creation time), adds
// it and persists it. It returns the entry as stored, with its version.
func (ns *Namespace) Write(e Entry) (Entry, error) {
	if err := ValidatePath(e.Path); err != nil {
		return Entry{}, err
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ns.closed {
		return Entry{}, ErrClosed
	}
	e.HLC, e.Writer = ns.clock.tick(), ns.cfg.Node
	if e.Created.IsZero() {
		e.Created = ns.cfg.Now().UTC()
	}
	b := BucketOf(e.Path)
	ns.insertLocked(b, e)
	if err := ns.saveLocked(b); err != nil {
		return Entry{}, err
	}
	return ns.versionLocked(e.Path, e.Key())
}

// Merge adds the entries it does not hold yet and persists them. Invalid
// entries are skipped and reported in the error; the valid ones are added
// anyway. It returns the entries that were new. Merging is idempotent and
// commutative: any order of any repetition of the same entries gives the
// same namespace.
func (ns *Namespace) Merge(entries []Entry) ([]Entry, error) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ns.closed {
		return nil, ErrClosed
	}
	var added []Entry
	var errs []error
	dirty := map[int]bool{}
	for _, e := range entries {
		if err := checkEntry(e); err != nil {
			errs = append(errs, err)
			continue
		}
		b := BucketOf(e.Path)
		if !ns.insertLocked(b, e) {
			continue
		}
		ns.clock.observe(e.HLC)
		dirty[b] = true
		added = append(added, e)
	}
	for b := range dirty {
		errs = append(errs, ns.saveLocked(b))
	}
	return added, errors.Join(errs...)
}

// checkEntry validates an entry heard from a peer.
func checkEntry(e Entry) error {
	if err := ValidatePath(e.Path); err != nil {
		return err
	}
	switch {
	case e.Writer == "" || len(e.Writer) > MaxSegment:
		return fmt.Errorf("%w: entry of %q without a valid writer", ErrBadPath, e.Path)
	case !e.Tombstone && e.Ref.IsZero():
		return fmt.Errorf("%w: entry of %q without a ref", ErrBadPath, e.Path)
	case e.TTL < 0 || e.Size < 0:
		return fmt.Errorf("%w: entry of %q with a negative ttl or size", ErrBadPath, e.Path)
	}
	return nil
}

// insertLocked adds e to bucket b in key order; false if already there.
func (ns *Namespace) insertLocked(b int, e Entry) bool {
	bk := &ns.buckets[b]
	list := bk.paths[e.Path]
	k := e.Key()
	i := sort.Search(len(list), func(i int) bool { return list[i].Key().Compare(k) >= 0 })
	if i < len(list) && list[i].Key().Compare(k) == 0 {
		return false
	}
	e.Version = 0
	list = append(list, Entry{})
	copy(list[i+1:], list[i:])
	list[i] = e
	bk.paths[e.Path] = list
	bk.digestOK = false
	return true
}

// versionLocked returns the entry of path with key k, version filled in.
func (ns *Namespace) versionLocked(path string, k Key) (Entry, error) {
	list := ns.buckets[BucketOf(path)].paths[path]
	for i, e := range list {
		if e.Key() == k {
			return ns.annotate(list, i), nil
		}
	}
	return Entry{}, fmt.Errorf("%w: %s", ErrNotFound, path)
}

// annotate returns list[i] with its version and its Erased flag.
func (ns *Namespace) annotate(list pathEntries, i int) Entry {
	e := list[i]
	e.Version = i + 1
	for _, later := range list[i+1:] {
		if later.AllVersions { // a removal of every version, or a replacing binding
			e.Erased = true
			break
		}
	}
	return e
}

// Refs of objects in the namespace.

// Named tells whether some version of some path still names ref: an entry
// that is neither erased nor expired (a version hidden by a plain removal
// still names its object: path@N reads it).
func (ns *Namespace) Named(ref blocks.Ref) bool {
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	now := ns.cfg.Now()
	for b := range ns.buckets {
		for _, list := range ns.buckets[b].paths {
			for i := range list {
				if list[i].Ref != ref || list[i].Tombstone || list[i].Expired(now) {
					continue
				}
				if !ns.annotate(list, i).Erased {
					return true
				}
			}
		}
	}
	return false
}
