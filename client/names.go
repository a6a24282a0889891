package client

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/rpc"
)

// IsName tells a name from a ref: names start with "/", refs never do.
func IsName(s string) bool { return strings.HasPrefix(s, "/") }

// NameEntry is one version of a name.
type NameEntry struct {
	Path    string     `json:"path"`
	Version int        `json:"version"`
	Ref     blocks.Ref `json:"ref,omitzero"`
	// Removed: this version is a removal (the name resolved to nothing
	// from here on); AllVersions: it removed every earlier version too.
	Removed     bool          `json:"removed,omitempty"`
	AllVersions bool          `json:"all_versions,omitempty"`
	Erased      bool          `json:"erased,omitempty"` // by a later removal of all versions, or beyond a later binding's keep
	Writer      string        `json:"writer"`
	ContentType string        `json:"content_type,omitempty"`
	Size        int64         `json:"size"`
	Owner       string        `json:"owner,omitempty"`
	Mode        uint32        `json:"mode"`
	Created     time.Time     `json:"created"`
	TTL         time.Duration `json:"ttl,omitempty"`
	Keep        int           `json:"keep,omitempty"`     // versions this binding keeps (0: all)
	KeepFor     time.Duration `json:"keep_for,omitempty"` // erases earlier versions older than this before it
	// HLC is the entry's hybrid logical clock reading, "ms.counter".
	HLC string `json:"hlc"`
}

func nameFrom(w rpc.NameEntry) (NameEntry, error) {
	e := NameEntry{Path: w.Path, Version: w.Version, Removed: w.Tombstone, AllVersions: w.AllVersions, Erased: w.Erased,
		Writer: w.Writer, ContentType: w.ContentType, Size: w.Size, Owner: w.Owner, Mode: w.Mode,
		TTL: time.Duration(w.TTL), Keep: w.Keep, KeepFor: time.Duration(w.KeepFor), HLC: fmt.Sprintf("%d.%d", w.HLCWall, w.HLCLogical)}
	if w.Created != 0 {
		e.Created = time.Unix(0, w.Created).UTC()
	}
	if len(w.Ref) > 0 {
		ref, err := rpc.ParseRef(w.Ref)
		if err != nil {
			return NameEntry{}, err
		}
		e.Ref = ref
	}
	return e, nil
}

// BindOptions are the optional fields of Bind.
type BindOptions struct {
	ContentType string        // default: the object's
	Mode        uint32        // default 0666 (advisory, see docs/names.md)
	TTL         time.Duration // 0: forever
	// IfVersion, when not nil, makes Bind a compare-and-set: it binds only
	// if the name's latest version is *IfVersion (0: no version yet), else
	// ErrConflict. Decided at the name's rendezvous owner (docs/names.md).
	IfVersion *int
	// Keep erases every earlier version but Keep-1 newest (with this one,
	// Keep versions stay); objects no other version names are deleted.
	// 0: the node's names_keep_versions; negative: keep all.
	Keep int
	// KeepFor erases every earlier version created more than KeepFor
	// before this one. 0: the node's names_keep_for; negative: no limit.
	KeepFor time.Duration
}

// RefTTLDir holds the names that give plain refs a TTL (Expire).
const RefTTLDir = "/.ttl/"

// Expire gives an object put without a name a time to live: it binds
// RefTTLDir + ref with ttl, and when that name expires the object goes
// everywhere unless another name uses it (docs/names.md, "TTL").
func (c *Client) Expire(ctx context.Context, ref blocks.Ref, ttl time.Duration) (NameEntry, error) {
	if ttl <= 0 {
		return NameEntry{}, fmt.Errorf("%w: ttl %s, want > 0", ErrBadRequest, ttl)
	}
	return c.Bind(ctx, RefTTLDir+ref.String(), ref, BindOptions{TTL: ttl, Keep: 1})
}

// Bind makes path (absolute, e.g. /models/policy.bin) name an object that
// exists: a new version of path, spread to every node.
func (c *Client) Bind(ctx context.Context, path string, ref blocks.Ref, o BindOptions) (NameEntry, error) {
	req := &rpc.NameBindReq{Path: path, Ref: ref[:], ContentType: o.ContentType, Mode: o.Mode, TTL: int64(o.TTL),
		IfVersion: o.IfVersion, Keep: o.Keep, KeepFor: int64(o.KeepFor)}
	return c.nameEntry(ctx, "bind "+path, rpc.OpNameBind, req)
}

// Resolve returns the entry of "path" (the latest version) or "path@N".
// A removed or expired name is blocks.ErrDeleted, an unknown one
// blocks.ErrNotFound.
func (c *Client) Resolve(ctx context.Context, target string) (NameEntry, error) {
	return c.nameEntry(ctx, "resolve "+target, rpc.OpNameResolve, &rpc.NameReq{Path: target})
}

// Move binds to to the object of from's latest version and removes from.
func (c *Client) Move(ctx context.Context, from, to string) (NameEntry, error) {
	return c.nameEntry(ctx, "mv "+from, rpc.OpNameMove, &rpc.NameMoveReq{From: from, To: to})
}

func (c *Client) nameEntry(ctx context.Context, what string, op rpc.Op, req rpc.Body) (NameEntry, error) {
	m, err := c.call(ctx, op, req, nil)
	if err != nil {
		return NameEntry{}, fmt.Errorf("%s: %w", what, err)
	}
	var rep rpc.NameEntryRep
	if err := m.Decode(&rep); err != nil {
		return NameEntry{}, err
	}
	return nameFrom(rep.Entry)
}

// Versions returns every version of path, oldest first (removals and
// erased versions included, flagged).
func (c *Client) Versions(ctx context.Context, path string) ([]NameEntry, error) {
	m, err := c.call(ctx, rpc.OpNameVersions, &rpc.NameReq{Path: path}, nil)
	if err != nil {
		return nil, fmt.Errorf("versions %s: %w", path, err)
	}
	var rep rpc.NameVersionsRep
	if err := m.Decode(&rep); err != nil {
		return nil, err
	}
	out := make([]NameEntry, len(rep.Entries))
	for i, w := range rep.Entries {
		if out[i], err = nameFrom(w); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// NameItem is a line of ListNames: a name with its latest version, or a
// directory (Dir; Path ends with /).
type NameItem struct {
	Path     string    `json:"path"`
	Dir      bool      `json:"dir,omitempty"`
	Versions int       `json:"versions,omitempty"`
	Latest   NameEntry `json:"latest,omitzero"`
}

// ListNames returns the live names under prefix: with a trailing / its
// names and subdirectories (every name below with recursive); without, the
// name itself and its directory's. It pages through the node's answers.
func (c *Client) ListNames(ctx context.Context, prefix string, recursive bool) ([]NameItem, error) {
	var out []NameItem
	after := ""
	for {
		m, err := c.call(ctx, rpc.OpNameList, &rpc.NameListReq{Prefix: prefix, Recursive: recursive, After: after}, nil)
		if err != nil {
			return nil, fmt.Errorf("ls %s: %w", prefix, err)
		}
		var rep rpc.NameListRep
		if err := m.Decode(&rep); err != nil {
			return nil, err
		}
		for _, w := range rep.Items {
			it := NameItem{Path: w.Path, Dir: w.Dir, Versions: w.Versions}
			if !w.Dir {
				if it.Latest, err = nameFrom(w.Latest); err != nil {
					return nil, err
				}
			}
			out = append(out, it)
		}
		if rep.Next == "" {
			return out, nil
		}
		after = rep.Next
	}
}

// RemoveResult is what RemoveName did.
type RemoveResult struct {
	Entry   NameEntry    // the removal, a new version of the path
	Deleted []blocks.Ref // objects no name or version named any more, deleted
	Freed   int64        // bytes the node freed
	// Grace: Deleted are deleted this long after the removal, if no name
	// is bound to them meanwhile (reads in flight finish); 0: deleted
	// already.
	Grace time.Duration
}

// RemoveName removes a name: it resolves no more, its earlier versions
// stay readable as path@N and keep their objects. With allVersions every
// version goes, and the objects no other name or version uses are deleted.
func (c *Client) RemoveName(ctx context.Context, path string, allVersions bool) (RemoveResult, error) {
	m, err := c.call(ctx, rpc.OpNameRemove, &rpc.NameRemoveReq{Path: path, All: allVersions}, nil)
	if err != nil {
		return RemoveResult{}, fmt.Errorf("rm %s: %w", path, err)
	}
	var rep rpc.NameRemoveRep
	if err := m.Decode(&rep); err != nil {
		return RemoveResult{}, err
	}
	res := RemoveResult{Freed: rep.Freed, Grace: time.Duration(rep.Grace)}
	if res.Entry, err = nameFrom(rep.Entry); err != nil {
		return res, err
	}
	for _, b := range rep.Deleted {
		ref, err := rpc.ParseRef(b)
		if err != nil {
			return res, err
		}
		res.Deleted = append(res.Deleted, ref)
	}
	return res, nil
}

// PutName stores r as an object and binds path to it.
func (c *Client) PutName(ctx context.Context, path string, r io.Reader, o PutOptions, b BindOptions) (NameEntry, error) {
	res, err := c.PutObject(ctx, r, o)
	if err != nil {
		return NameEntry{}, err
	}
	return c.Bind(ctx, path, res.Ref, b)
}

// GetName opens the object a name ("path" or "path@N") resolves to.
func (c *Client) GetName(ctx context.Context, target string) (*Reader, NameEntry, error) {
	e, err := c.Resolve(ctx, target)
	if err != nil {
		return nil, e, err
	}
	r, err := c.Get(ctx, e.Ref)
	return r, e, err
}

// Follow is a follow rule of a node: new versions of names under Prefix
// are prefetched to Groups.
type Follow struct {
	Prefix string   `json:"prefix"`
	Groups []string `json:"groups"`
}

// Follow makes the node prefetch every new latest version of a name under
// prefix (a directory such as /policy/) to the groups, starting with the
// names there now. It returns the node's rules.
func (c *Client) Follow(ctx context.Context, prefix string, groups []string) ([]Follow, error) {
	return c.follow(ctx, &rpc.NameFollowReq{Prefix: prefix, Groups: groups})
}

// Unfollow drops the node's rule for prefix.
func (c *Client) Unfollow(ctx context.Context, prefix string) ([]Follow, error) {
	return c.follow(ctx, &rpc.NameFollowReq{Prefix: prefix, Remove: true})
}

// Follows lists the node's follow rules.
func (c *Client) Follows(ctx context.Context) ([]Follow, error) {
	return c.follow(ctx, &rpc.NameFollowReq{})
}

func (c *Client) follow(ctx context.Context, req *rpc.NameFollowReq) ([]Follow, error) {
	m, err := c.call(ctx, rpc.OpNameFollow, req, nil)
	if err != nil {
		return nil, fmt.Errorf("follow %s: %w", req.Prefix, err)
	}
	var rep rpc.NameFollowRep
	if err := m.Decode(&rep); err != nil {
		return nil, err
	}
	out := make([]Follow, len(rep.Follows))
	for i, f := range rep.Follows {
		out[i] = Follow{Prefix: f.Prefix, Groups: f.Groups}
	}
	return out, nil
}
