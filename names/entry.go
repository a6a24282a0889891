package names

import (
	"strings"
	"time"

	"github.com/emerge-dev/emerge/blocks"
)

// Entry is one version of one path: a binding to Ref, or a tombstone. Its
// identity is (Path, HLC, Writer); every other field is fixed at write
// time, except Version, which is derived from the path's entries when the
// entry is read.
type Entry struct {
	Path string
	// Version is the entry's rank (from 1) among its path's entries in
	// (HLC, Writer) order. Set on reads; ignored by Merge.
	Version int
	// Erased: a later entry with AllVersions removed this version, or a
	// later binding's Keep left it out. Set on reads.
	Erased bool
	// Ref is the object bound; zero for a tombstone.
	Ref blocks.Ref
	// Tombstone: the name is removed from this point on (until a later
	// binding). With AllVersions every earlier version is erased too, by a
	// removal or by a binding that replaces them (BindOptions.Replace).
	Tombstone   bool
	AllVersions bool
	Writer      string // id of the node that wrote the entry
	HLC         HLC
	ContentType string
	// Meta is small free-form metadata of the binding (the S3 gateway keeps
	// an object's ETag and x-amz-meta-* headers here), at most MaxMeta bytes.
	Meta    map[string]string
	Size    int64  // of the object, when known at bind time
	Owner   string // the writer's identity (node id, or the client's key)
	Mode    uint32 // permission bits, advisory (see docs/names.md)
	Created time.Time
	TTL     time.Duration // 0: forever; else the entry expires at Created+TTL
	// Keep, on a binding, erases every earlier binding of the path but the
	// Keep-1 newest before it: with this one, Keep versions stay. 0 keeps
	// all. Applied by rank over the merged entries, so every node erases
	// the same versions (see erasedFlags).
	Keep int
	// KeepFor, on a binding, erases every earlier binding of the path
	// created more than KeepFor before this one. 0: no age limit.
	KeepFor time.Duration
}

// Key identifies an entry.
type Key struct {
	HLC    HLC
	Writer string
}

// Key returns e's identity within its path.
func (e Entry) Key() Key { return Key{HLC: e.HLC, Writer: e.Writer} }

// Compare orders keys: HLC first, the writer's id breaking ties, so every
// node orders a path's entries the same way.
func (k Key) Compare(o Key) int {
	if c := k.HLC.Compare(o.HLC); c != 0 {
		return c
	}
	return strings.Compare(k.Writer, o.Writer)
}

// Expired tells whether the entry's TTL has run out at now.
func (e Entry) Expired(now time.Time) bool {
	return e.TTL > 0 && !now.Before(e.Created.Add(e.TTL))
}

// DefaultMode is the mode of a binding written without one: everyone
// reads and writes. Owners are node ids until clients authenticate, and a
// client may reach any node, so a narrower default would refuse a user's
// own overwrite through another node; pass 0o644 to keep others out
// (advisory, see docs/names.md).
const DefaultMode = 0o666
