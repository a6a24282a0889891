package names

import (
	"bytes"
	"fmt"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/vmihailenco/msgpack/v5"
)

// MaxMeta caps the bytes of an entry's meta (keys and values).
const MaxMeta = 4 << 10

func metaSize(m map[string]string) int {
	n := 0
	for k, v := range m {
		n += len(k) + len(v)
	}
	return n
}

// MaxEntries caps the entries of one encoded list (a persisted bucket, a
// broadcast, a bucket pulled by a peer).
const MaxEntries = 1 << 16

// wireEntry is an Entry on the wire and on disk: explicit short tags, kept
// apart from Entry.
type wireEntry struct {
	Path    string            `msgpack:"p"`
	Ref     []byte            `msgpack:"r,omitempty"`
	Tomb    bool              `msgpack:"t,omitempty"`
	All     bool              `msgpack:"a,omitempty"`
	Writer  string            `msgpack:"w"`
	Wall    int64             `msgpack:"hw"`
	Logical uint32            `msgpack:"hl,omitempty"`
	CT      string            `msgpack:"ct,omitempty"`
	Meta    map[string]string `msgpack:"mt,omitempty"`
	Size    int64             `msgpack:"sz,omitempty"`
	Owner   string            `msgpack:"o,omitempty"`
	Mode    uint32            `msgpack:"m,omitempty"`
	Created int64             `msgpack:"c,omitempty"` // unix ns
	TTL     int64             `msgpack:"ttl,omitempty"`
	Keep    int               `msgpack:"k,omitempty"`
	KeepFor int64             `msgpack:"kf,omitempty"` // ns
}

func toWire(e Entry) wireEntry {
	w := wireEntry{Path: e.Path, Tomb: e.Tombstone, All: e.AllVersions, Writer: e.Writer, Wall: e.HLC.Wall,
		Logical: e.HLC.Logical, CT: e.ContentType, Meta: e.Meta, Size: e.Size, Owner: e.Owner, Mode: e.Mode, TTL: int64(e.TTL), Keep: e.Keep, KeepFor: int64(e.KeepFor)}
	if !e.Ref.IsZero() {
		w.Ref = e.Ref[:]
	}
	if !e.Created.IsZero() {
		w.Created = e.Created.UnixNano()
	}
	return w
}

func (w wireEntry) entry() (Entry, error) {
	if n := metaSize(w.Meta); n > MaxMeta {
		return Entry{}, fmt.Errorf("%w: entry of %q with %d bytes of meta", ErrBadPath, w.Path, n)
	}
	e := Entry{Path: w.Path, Tombstone: w.Tomb, AllVersions: w.All, Writer: w.Writer,
		HLC: HLC{Wall: w.Wall, Logical: w.Logical}, ContentType: w.CT, Meta: w.Meta, Size: w.Size, Owner: w.Owner,
		Mode: w.Mode, TTL: time.Duration(w.TTL), Keep: w.Keep, KeepFor: time.Duration(w.KeepFor)}
	if len(w.Ref) > 0 {
		if len(w.Ref) != len(e.Ref) {
			return Entry{}, fmt.Errorf("%w: entry of %q with a %d-byte ref", ErrBadPath, w.Path, len(w.Ref))
		}
		e.Ref = blocks.Ref(w.Ref)
	}
	if w.Created != 0 {
		e.Created = time.Unix(0, w.Created).UTC()
	}
	return e, nil
}

// EncodeEntries encodes entries for the wire or the disk.
func EncodeEntries(entries []Entry) ([]byte, error) {
	if len(entries) > MaxEntries {
		return nil, fmt.Errorf("names: %d entries in one list, limit %d", len(entries), MaxEntries)
	}
	ws := make([]wireEntry, len(entries))
	for i, e := range entries {
		ws[i] = toWire(e)
	}
	return msgpack.Marshal(ws)
}

// DecodeEntries decodes what EncodeEntries made, checking the count before
// allocating. It does not validate paths (Merge does).
func DecodeEntries(b []byte) ([]Entry, error) {
	d := msgpack.NewDecoder(bytes.NewReader(b))
	n, err := d.DecodeArrayLen()
	if err != nil {
		return nil, fmt.Errorf("%w: entries: %v", ErrBadPath, err)
	}
	if n > MaxEntries || n > len(b) {
		return nil, fmt.Errorf("%w: %d entries, limit %d", ErrBadPath, n, MaxEntries)
	}
	out := make([]Entry, 0, max(n, 0))
	for i := 0; i < n; i++ {
		var w wireEntry
		if err := d.Decode(&w); err != nil {
			return nil, fmt.Errorf("%w: entry %d: %v", ErrBadPath, i, err)
		}
		e, err := w.entry()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}
