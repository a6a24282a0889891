package names

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emerge-dev/emerge/blocks"
)

// The Service's operations: what the node's handlers (and any other front
// end) call.

// BindOptions are the optional fields of a binding.
type BindOptions struct {
	ContentType string
	Meta        map[string]string // at most MaxMeta bytes of keys and values
	Size        int64
	Owner       string        // default: this node's id
	Mode        uint32        // default DefaultMode
	TTL         time.Duration // 0: forever
	// Replace erases every earlier version: the new one is the only one
	// (an S3 overwrite). Objects no other version names can then go.
	Replace bool
	// Keep erases every earlier version but the Keep-1 newest: with the
	// new one, Keep versions stay. 0 is the service's default
	// (ServiceConfig.KeepVersions); negative keeps all.
	Keep int
	// KeepFor erases every earlier version created more than KeepFor
	// before the new one. 0 is the service's default
	// (ServiceConfig.KeepFor); negative: no age limit.
	KeepFor time.Duration
}

// Bind makes path name ref: a new version, broadcast to every node.
func (s *Service) Bind(ctx context.Context, path string, ref blocks.Ref, o BindOptions) (Entry, error) {
	if ref.IsZero() {
		return Entry{}, fmt.Errorf("%w: bind %s to the zero ref", ErrBadPath, path)
	}
	if o.TTL < 0 {
		return Entry{}, fmt.Errorf("%w: negative ttl %s", ErrBadPath, o.TTL)
	}
	if n := metaSize(o.Meta); n > MaxMeta {
		return Entry{}, fmt.Errorf("%w: %d bytes of meta on %s, at most %d", ErrBadPath, n, path, MaxMeta)
	}
	keep := o.Keep
	if keep == 0 {
		keep = s.cfg.KeepVersions
	}
	keepFor := o.KeepFor
	if keepFor == 0 {
		keepFor = s.cfg.KeepFor
	}
	e := Entry{Path: path, Ref: ref, ContentType: o.ContentType, Meta: o.Meta, Size: o.Size, Owner: o.Owner, Mode: o.Mode, TTL: o.TTL,
		AllVersions: o.Replace, Keep: max(keep, 0), KeepFor: max(keepFor, 0)}
	if e.Owner == "" {
		e.Owner = s.ns.Node()
	}
	if e.Mode == 0 {
		e.Mode = DefaultMode
	}
	return s.write(ctx, e)
}

// BindIf binds path to ref only if the path's latest version is number
// version (0: the path has none yet); otherwise ErrConflict. Decisions
// made by one Service are serialised, so of concurrent BindIf calls with
// the same version one succeeds; callers route every compare-and-set of a
// path to one node (the node uses the path's rendezvous owner).
func (s *Service) BindIf(ctx context.Context, path string, ref blocks.Ref, o BindOptions, version int) (Entry, error) {
	s.casMu.Lock()
	defer s.casMu.Unlock()
	vs, err := s.ns.Versions(path)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Entry{}, err
	}
	if len(vs) != version {
		return Entry{}, fmt.Errorf("%w: %s is at version %d, not %d", ErrConflict, path, len(vs), version)
	}
	return s.Bind(ctx, path, ref, o)
}

// write checks the mode of the name it changes, stores e and broadcasts it.
func (s *Service) write(ctx context.Context, e Entry) (Entry, error) {
	if err := ctx.Err(); err != nil {
		return Entry{}, err
	}
	if err := s.checkMode(e); err != nil {
		return Entry{}, err
	}
	stored, err := s.ns.Write(e)
	if err != nil {
		return Entry{}, err
	}
	s.publish(ctx, stored)
	return stored, nil
}

func (s *Service) publish(ctx context.Context, e Entry) {
	if s.cfg.OnNew != nil {
		s.cfg.OnNew([]Entry{e})
	}
	if err := s.cfg.Transport.Publish(ctx, []Entry{e}); err != nil {
		s.cfg.Logger.Debug().Err(err).Str("path", e.Path).Msg("names publish (anti-entropy will carry it)")
	}
}

// checkMode refuses a change to a name whose latest live version belongs
// to another owner and does not let others write (mode bit 0o002).
// Advisory: owners are node ids until clients authenticate.
func (s *Service) checkMode(e Entry) error {
	cur, err := s.ns.Resolve(e.Path, 0)
	if err != nil {
		return nil
	}
	owner := e.Owner
	if owner == "" {
		owner = s.ns.Node()
	}
	if cur.Owner != owner && cur.Mode&0o002 == 0 {
		return fmt.Errorf("%w: %s belongs to %s, mode %04o", ErrDenied, e.Path, cur.Owner, cur.Mode)
	}
	return nil
}

// Resolve returns the entry a target ("path" or "path@N") names.
func (s *Service) Resolve(ctx context.Context, target string) (Entry, error) {
	if err := ctx.Err(); err != nil {
		return Entry{}, err
	}
	path, v, err := ParseTarget(target)
	if err != nil {
		return Entry{}, err
	}
	return s.ns.Resolve(path, v)
}

// List returns the live names under prefix (see Namespace.List).
func (s *Service) List(ctx context.Context, prefix string, recursive bool) ([]Item, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.ns.List(prefix, recursive)
}

// Versions returns every version of path.
func (s *Service) Versions(ctx context.Context, path string) ([]Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.ns.Versions(path)
}

// Move binds to the object from names (its latest version, with its
// content type, size and mode) and removes from (its versions stay, as
// after Remove without all). It returns the new entry of to.
func (s *Service) Move(ctx context.Context, from, to string) (Entry, error) {
	if err := ValidatePath(to); err != nil {
		return Entry{}, err
	}
	cur, err := s.Resolve(ctx, from)
	if err != nil {
		return Entry{}, err
	}
	if cur.Path == to {
		return cur, nil
	}
	if err := s.checkMode(Entry{Path: from}); err != nil {
		return Entry{}, err
	}
	e, err := s.Bind(ctx, to, cur.Ref, BindOptions{ContentType: cur.ContentType, Meta: cur.Meta, Size: cur.Size, Mode: cur.Mode, TTL: cur.TTL})
	if err != nil {
		return Entry{}, err
	}
	_, err = s.write(ctx, Entry{Path: cur.Path, Tombstone: true, Owner: s.ns.Node()})
	return e, err
}

// Remove removes path: a tombstone version, so the name resolves no more.
// Without all, earlier versions stay readable as path@N; with all they
// are erased. It returns the refs no version of any path names any more:
// the objects the caller may delete.
func (s *Service) Remove(ctx context.Context, path string, all bool) (Entry, []blocks.Ref, error) {
	vs, err := s.Versions(ctx, path)
	if err != nil {
		return Entry{}, nil, err
	}
	if last := vs[len(vs)-1]; last.Tombstone && (!all || last.AllVersions) {
		return Entry{}, nil, fmt.Errorf("%w: %s was removed already (version %d)", ErrRemoved, path, last.Version)
	}
	e, err := s.write(ctx, Entry{Path: path, Tombstone: true, AllVersions: all, Owner: s.ns.Node()})
	if err != nil || !all {
		return e, nil, err
	}
	var live []Entry // versions erased before were freed when they were erased
	for _, v := range vs {
		if !v.Erased {
			live = append(live, v)
		}
	}
	return e, s.Orphans(live, blocks.Ref{}), nil
}

// Orphans returns the objects of the bindings among before (a path's
// versions read before a write that erased some) that no version of any
// path names now, except keep (the object just bound, or zero): the
// objects the writer of the erasing entry deletes.
func (s *Service) Orphans(before []Entry, keep blocks.Ref) []blocks.Ref {
	var orphans []blocks.Ref
	seen := map[blocks.Ref]bool{keep: true}
	for _, v := range before {
		if v.Tombstone || seen[v.Ref] {
			continue
		}
		seen[v.Ref] = true
		if !s.ns.Named(v.Ref) {
			orphans = append(orphans, v.Ref)
		}
	}
	return orphans
}

// Freeing runs write, a write to path (a Bind, a BindIf), and returns its
// entry with the objects it orphaned: those of the versions it erased
// (beyond a keep count, or all with Replace) that no version of any path
// names any more. The writer deletes them (docs/names.md, "Versions kept").
func (s *Service) Freeing(path string, write func() (Entry, error)) (Entry, []blocks.Ref, error) {
	before, _ := s.ns.Versions(path) // none: a new path
	e, err := write()
	if err != nil {
		return e, nil, err
	}
	after, err := s.ns.Versions(path)
	if err != nil {
		return e, nil, nil
	}
	was := map[Key]bool{}
	for _, v := range before {
		if !v.Erased {
			was[v.Key()] = true
		}
	}
	var gone []Entry
	for _, v := range after {
		if v.Erased && was[v.Key()] {
			gone = append(gone, v)
		}
	}
	return e, s.Orphans(gone, e.Ref), nil
}
