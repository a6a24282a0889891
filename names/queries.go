package names

import (
	"fmt"
	"sort"
	"strings"
)

// Resolve returns the latest version of path (version 0) or version n. A
// path whose latest entry is a tombstone, or expired, is ErrRemoved; so is
// a version that is a tombstone, erased or expired.
func (ns *Namespace) Resolve(path string, version int) (Entry, error) {
	if err := ValidatePath(path); err != nil {
		return Entry{}, err
	}
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	list := ns.buckets[BucketOf(path)].paths[path]
	if len(list) == 0 {
		return Entry{}, fmt.Errorf("%w: %s", ErrNotFound, path)
	}
	i := len(list) - 1
	if version > 0 {
		if version > len(list) {
			return Entry{}, fmt.Errorf("%w: %s@%d (%d versions)", ErrNotFound, path, version, len(list))
		}
		i = version - 1
	}
	e := ns.annotate(list, i)
	switch {
	case e.Tombstone && version == 0:
		return e, fmt.Errorf("%w: %s was removed (version %d)", ErrRemoved, path, e.Version)
	case e.Tombstone:
		return e, fmt.Errorf("%w: %s@%d is a removal", ErrRemoved, path, version)
	case e.Erased:
		return e, fmt.Errorf("%w: %s@%d was removed with all versions", ErrRemoved, path, e.Version)
	case e.Expired(ns.cfg.Now()):
		return e, fmt.Errorf("%w: %s@%d expired at %s", ErrRemoved, path, e.Version, e.Created.Add(e.TTL).Format("2006-01-02T15:04:05Z"))
	}
	return e, nil
}

// Versions returns every entry of path in version order (tombstones and
// erased versions included, flagged).
func (ns *Namespace) Versions(path string) ([]Entry, error) {
	if err := ValidatePath(path); err != nil {
		return nil, err
	}
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	list := ns.buckets[BucketOf(path)].paths[path]
	if len(list) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, path)
	}
	out := make([]Entry, len(list))
	erased := erasedFlags(list)
	for i := range list {
		out[i] = list[i]
		out[i].Version, out[i].Erased = i+1, erased[i]
	}
	return out, nil
}

// Item is one line of a listing: a name with its latest version, or a
// directory (a path prefix ending with "/") holding names.
type Item struct {
	Path     string
	Dir      bool
	Latest   Entry // the latest version (names only)
	Versions int   // entries of the path (names only)
}

// List returns the live names under prefix in path order. A prefix ending
// with "/" (or "/" itself) is a directory: its direct names, and its
// subdirectories as Dir items unless recursive, which lists every name
// below instead. A prefix without a trailing "/" lists that name if live,
// and the directory of that path. Removed and expired names are left out.
func (ns *Namespace) List(prefix string, recursive bool) ([]Item, error) {
	if err := ValidatePrefix(prefix); err != nil {
		return nil, err
	}
	dir := strings.TrimSuffix(prefix, "/") + "/"
	exact := ""
	if !strings.HasSuffix(prefix, "/") {
		exact = prefix
	}
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	now := ns.cfg.Now()
	items := map[string]Item{}
	for b := range ns.buckets {
		for path, list := range ns.buckets[b].paths {
			if path != exact && !strings.HasPrefix(path, dir) {
				continue
			}
			last := ns.annotate(list, len(list)-1)
			if last.Tombstone || last.Expired(now) {
				continue
			}
			rest := strings.TrimPrefix(path, dir)
			if i := strings.IndexByte(rest, '/'); path != exact && !recursive && i >= 0 {
				d := dir + rest[:i+1]
				items[d] = Item{Path: d, Dir: true}
				continue
			}
			items[path] = Item{Path: path, Latest: last, Versions: len(list)}
		}
	}
	out := make([]Item, 0, len(items))
	for _, it := range items {
		out = append(out, it)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// Len is the number of entries held (every version of every path).
func (ns *Namespace) Len() int {
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	n := 0
	for b := range ns.buckets {
		for _, list := range ns.buckets[b].paths {
			n += len(list)
		}
	}
	return n
}
