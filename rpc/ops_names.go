package rpc

import "github.com/vmihailenco/msgpack/v5"

// NameEntry is one version of one name, as clients see it.
type NameEntry struct {
	Path        string `msgpack:"p"`
	Version     int    `msgpack:"v"`
	Ref         []byte `msgpack:"ref,omitempty"` // absent for a removal
	Tombstone   bool   `msgpack:"tomb,omitempty"`
	AllVersions bool   `msgpack:"all,omitempty"`    // a removal of every earlier version
	Erased      bool   `msgpack:"erased,omitempty"` // by a later removal of all versions, or beyond a later binding's keep
	Writer      string `msgpack:"w"`
	HLCWall     int64  `msgpack:"hw"` // hybrid logical clock: unix ms
	HLCLogical  uint32 `msgpack:"hl,omitempty"`
	ContentType string `msgpack:"ct,omitempty"`
	Size        int64  `msgpack:"size,omitempty"`
	Owner       string `msgpack:"owner,omitempty"`
	Mode        uint32 `msgpack:"mode,omitempty"`
	Created     int64  `msgpack:"created,omitempty"`  // unix ns
	TTL         int64  `msgpack:"ttl,omitempty"`      // ns; 0: forever
	Keep        int    `msgpack:"keep,omitempty"`     // versions this binding keeps; 0: all
	KeepFor     int64  `msgpack:"keep_for,omitempty"` // ns: erases versions older than this before it; 0: none
}

// NameBindReq binds Path to Ref: a new version. Mode 0 is the default
// (0666); TTL 0 is forever. The reply is a NameEntryRep.
type NameBindReq struct {
	Header
	Path        string `msgpack:"path"`
	Ref         []byte `msgpack:"ref"`
	ContentType string `msgpack:"ct,omitempty"`
	Mode        uint32 `msgpack:"mode,omitempty"`
	TTL         int64  `msgpack:"ttl,omitempty"` // ns
	// IfVersion, when set, makes the bind a compare-and-set: it happens
	// only if the path's latest version is this number (0: the path has no
	// version), decided at the path's rendezvous owner; else "conflict".
	IfVersion *int `msgpack:"ifv,omitempty"`
	// Forwarded marks a compare-and-set a node passed to the owner: the
	// receiver decides it itself and never forwards again.
	Forwarded bool `msgpack:"fwd,omitempty"`
	// Keep erases every earlier version but Keep-1 (with this one, Keep
	// stay); their objects no other version names are deleted. 0: the
	// node's names_keep_versions; negative: keep all.
	Keep int `msgpack:"keep,omitempty"`
	// KeepFor (ns) erases every earlier version created more than KeepFor
	// before this one. 0: the node's names_keep_for; negative: no limit.
	KeepFor int64 `msgpack:"keep_for,omitempty"`
}

// NameReq names a path (NameVersions) or a path@N (NameResolve; no @N: the
// latest version).
type NameReq struct {
	Header
	Path string `msgpack:"path"`
}

// NameEntryRep answers NameBind, NameResolve and NameMove.
type NameEntryRep struct {
	Header
	Entry NameEntry `msgpack:"e"`
}

// NameListReq lists the live names under Prefix (a directory when it ends
// with /): direct names and subdirectories, or every name below with
// Recursive. Pages start after the path After; Limit 0 is MaxNameList.
type NameListReq struct {
	Header
	Prefix    string `msgpack:"prefix"`
	Recursive bool   `msgpack:"r,omitempty"`
	After     string `msgpack:"after,omitempty"`
	Limit     int    `msgpack:"limit,omitempty"`
}

// NameItem is a line of a listing: a name and its latest version, or a
// directory (Dir, Path ending with /).
type NameItem struct {
	Path     string    `msgpack:"p"`
	Dir      bool      `msgpack:"dir,omitempty"`
	Versions int       `msgpack:"n,omitempty"`
	Latest   NameEntry `msgpack:"e,omitempty"`
}

// NameListRep is one page; Next is the After of the next page (empty at
// the end).
type NameListRep struct {
	Header
	Items NameItems `msgpack:"items"`
	Next  string    `msgpack:"next,omitempty"`
}

// NameVersionsRep lists a path's versions, oldest first (the newest
// MaxNameList when there are more).
type NameVersionsRep struct {
	Header
	Entries NameEntries `msgpack:"entries"`
}

// NameMoveReq binds To to the object of From's latest version and removes
// From. The reply is a NameEntryRep (To's new version).
type NameMoveReq struct {
	Header
	From string `msgpack:"from"`
	To   string `msgpack:"to"`
}

// NameRemoveReq removes Path (a tombstone version); with All, every
// earlier version too, and the objects no other name or version names
// are deleted.
type NameRemoveReq struct {
	Header
	Path string `msgpack:"path"`
	All  bool   `msgpack:"all,omitempty"`
}

// NameRemoveRep is the tombstone written and the objects deleted.
type NameRemoveRep struct {
	Header
	Entry   NameEntry `msgpack:"e"`
	Deleted Refs      `msgpack:"deleted,omitempty"`
	Freed   int64     `msgpack:"freed,omitempty"` // bytes freed on the answering node
	// Grace (ns) is how long the objects of Deleted wait before they are
	// deleted (names_free_grace); 0: deleted already.
	Grace int64 `msgpack:"grace,omitempty"`
}

// NameDigestsRep is the answering node's bucket digests (anti-entropy).
type NameDigestsRep struct {
	Header
	Digests Uint64s `msgpack:"d"`
}

// NameBucketReq asks for every entry of one bucket. The reply is a bare
// Header whose one data frame holds the entries in the namespace's own
// encoding (package names), which the receiver checks.
type NameBucketReq struct {
	Header
	Bucket int `msgpack:"b"`
}

// NameFollowReq changes the answering node's follow rules: with Groups,
// every new latest version of a name under Prefix is prefetched to them;
// with Remove, the rule for Prefix goes; with neither, nothing changes. The
// reply lists the rules after the change.
type NameFollowReq struct {
	Header
	Prefix string  `msgpack:"prefix,omitempty"`
	Groups Strings `msgpack:"groups,omitempty"`
	Remove bool    `msgpack:"rm,omitempty"`
}

// NameFollow is one follow rule.
type NameFollow struct {
	Prefix string  `msgpack:"prefix"`
	Groups Strings `msgpack:"groups"`
}

// NameFollowRep lists a node's follow rules.
type NameFollowRep struct {
	Header
	Follows NameFollows `msgpack:"follows"`
}

// NameFollows is a capped list of follow rules.
type NameFollows []NameFollow

// DecodeMsgpack reads at most MaxNameFollows rules.
func (l *NameFollows) DecodeMsgpack(d *msgpack.Decoder) error {
	return decodeCapped(d, (*[]NameFollow)(l), MaxNameFollows)
}

// Caps of the names ops.
const (
	// MaxNameList caps the items of a listing page and the versions of a
	// NameVersionsRep.
	MaxNameList = 4096
	// MaxNameDigests caps a NameDigestsRep.
	MaxNameDigests = 4096
	// MaxNameRefs caps the refs of a NameRemoveRep.
	MaxNameRefs = MaxNameList
	// MaxNameFollows caps the follow rules of a node.
	MaxNameFollows = 256
)

// NameEntries is a capped list of entries.
type NameEntries []NameEntry

// DecodeMsgpack reads at most MaxNameList entries.
func (l *NameEntries) DecodeMsgpack(d *msgpack.Decoder) error {
	return decodeCapped(d, (*[]NameEntry)(l), MaxNameList)
}

// NameItems is a capped list of listing items.
type NameItems []NameItem

// DecodeMsgpack reads at most MaxNameList items.
func (l *NameItems) DecodeMsgpack(d *msgpack.Decoder) error {
	return decodeCapped(d, (*[]NameItem)(l), MaxNameList)
}

// Uint64s is a capped list of digests.
type Uint64s []uint64

// DecodeMsgpack reads at most MaxNameDigests numbers.
func (l *Uint64s) DecodeMsgpack(d *msgpack.Decoder) error {
	return decodeCapped(d, (*[]uint64)(l), MaxNameDigests)
}

// Refs is a capped list of refs (32-byte bins).
type Refs [][]byte

// DecodeMsgpack reads at most MaxNameRefs refs.
func (l *Refs) DecodeMsgpack(d *msgpack.Decoder) error {
	return decodeCapped(d, (*[][]byte)(l), MaxNameRefs)
}

// decodeCapped reads a list of at most limit items into out.
func decodeCapped[T any](d *msgpack.Decoder, out *[]T, limit int) error {
	n, err := capLen(d, limit)
	if err != nil || n < 0 {
		*out = nil
		return err
	}
	s := make([]T, n)
	for i := range s {
		if err := d.Decode(&s[i]); err != nil {
			return err
		}
	}
	*out = s
	return nil
}
