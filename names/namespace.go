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
	e.Erased = erasedFlags(list[i:])[0]
	return e
}

// erasedFlags tells, for each entry of a path's list (in key order),
// whether a later entry erased it: a later AllVersions entry (a removal of
// every version, a replacing binding), or a later binding j with Keep k
// such that k or more bindings lie in (i, j], or a later binding j with
// KeepFor d created more than d after binding i. It depends on the set of
// entries alone, so every node holding the same entries erases the same
// versions; adding entries only erases more (counts and cutoffs only grow), never
// brings an erased version back.
func erasedFlags(list pathEntries) []bool {
	out := make([]bool, len(list))
	all := false
	const none = int(^uint(0) >> 1)
	margin := none       // min over later keeping j of Keep_j - bindings in (i, j]
	var cutoff time.Time // max over later j of Created_j - KeepFor_j
	for i := len(list) - 1; i >= 0; i-- {
		e := list[i]
		binding := !e.Tombstone
		out[i] = all || margin <= 0 || (binding && e.Created.Before(cutoff))
		if binding && e.KeepFor > 0 {
			if c := e.Created.Add(-e.KeepFor); c.After(cutoff) {
				cutoff = c
			}
		}
		if binding && margin != none {
			margin--
		}
		if binding && e.Keep > 0 {
			margin = min(margin, e.Keep-1)
		}
		if e.AllVersions {
			all = true
		}
	}
	return out
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
			var erased []bool
			for i := range list {
				if list[i].Ref != ref || list[i].Tombstone || list[i].Expired(now) {
					continue
				}
				if erased == nil {
					erased = erasedFlags(list)
				}
				if !erased[i] {
					return true
				}
			}
		}
	}
	return false
}

// Unnamed returns the objects some binding of a path named once and no
// version of any path names now (every binding of them erased or
// expired), with the paths that named them; only objects one of whose
// paths passes mine are returned (nil mine: all). These are the objects
// the namespace may delete.
func (ns *Namespace) Unnamed(mine func(path string) bool) map[blocks.Ref][]string {
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	now := ns.cfg.Now()
	named := map[blocks.Ref]bool{}
	was := map[blocks.Ref][]string{}
	for b := range ns.buckets {
		for path, list := range ns.buckets[b].paths {
			erased := erasedFlags(list)
			for i, e := range list {
				if e.Tombstone {
					continue
				}
				if !erased[i] && !e.Expired(now) {
					named[e.Ref] = true
				} else if ps := was[e.Ref]; len(ps) == 0 || ps[len(ps)-1] != path {
					was[e.Ref] = append(ps, path)
				}
			}
		}
	}
	out := map[blocks.Ref][]string{}
	for ref, paths := range was {
		if named[ref] {
			continue
		}
		for _, p := range paths {
			if mine == nil || mine(p) {
				out[ref] = paths
				break
			}
		}
	}
	return out
}
