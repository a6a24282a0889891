package store

import (
	"encoding/binary"
	"time"

	"github.com/emerge-dev/emerge/blocks"
)

// Key layout: one prefix byte, then fixed-size binary fields, so that every
// kind of record is one contiguous, ordered key range.
//
//	b <block id>         block bytes
//	m <ref>              use byte + manifest record (Manifest.MarshalRecord)
//	r <block id> <ref>   block use: use byte + unix nanoseconds (8, big endian)
//	t <ref>              tombstone: unix nanoseconds (8, big endian)
//	q <block id>         quarantined copy: unix nanoseconds (8) + reason
//	x <name>             node-private meta record
const (
	prefixBlock      byte = 'b'
	prefixManifest   byte = 'm'
	prefixUse        byte = 'r'
	prefixTomb       byte = 't'
	prefixQuarantine byte = 'q'
	prefixMeta       byte = 'x'
)

const (
	useKeyLen = 1 + 2*blocks.IDSize
	useValLen = 9
)

func key32(prefix byte, b [blocks.IDSize]byte) []byte {
	k := make([]byte, 1+blocks.IDSize)
	k[0] = prefix
	copy(k[1:], b[:])
	return k
}

func blockKey(id blocks.ID) []byte      { return key32(prefixBlock, id) }
func manifestKey(ref blocks.Ref) []byte { return key32(prefixManifest, ref) }
func tombKey(ref blocks.Ref) []byte     { return key32(prefixTomb, ref) }
func usePrefix(id blocks.ID) []byte     { return key32(prefixUse, id) }

func useKey(id blocks.ID, ref blocks.Ref) []byte {
	k := make([]byte, useKeyLen)
	k[0] = prefixUse
	copy(k[1:], id[:])
	copy(k[1+blocks.IDSize:], ref[:])
	return k
}

// splitUseKey returns the block id and ref of a use key.
func splitUseKey(k []byte) (blocks.ID, blocks.Ref, bool) {
	var id blocks.ID
	var ref blocks.Ref
	if len(k) != useKeyLen || k[0] != prefixUse {
		return id, ref, false
	}
	copy(id[:], k[1:])
	copy(ref[:], k[1+blocks.IDSize:])
	return id, ref, true
}

// suffix32 returns the 32 bytes after the prefix of a b, m or t key.
func suffix32(k []byte) (out [blocks.IDSize]byte, ok bool) {
	if len(k) != 1+blocks.IDSize {
		return out, false
	}
	copy(out[:], k[1:])
	return out, true
}

func metaKey(name string) []byte { return append([]byte{prefixMeta}, name...) }

func encodeUse(u Use, at time.Time) []byte {
	v := make([]byte, useValLen)
	v[0] = byte(u)
	binary.BigEndian.PutUint64(v[1:], uint64(unixNano(at)))
	return v
}

func decodeUse(v []byte) (Use, time.Time, bool) {
	if len(v) != useValLen {
		return 0, time.Time{}, false
	}
	return Use(v[0]), fromUnixNano(int64(binary.BigEndian.Uint64(v[1:]))), true
}

func encodeTime(t time.Time) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(unixNano(t)))
}

func decodeTime(v []byte) (time.Time, bool) {
	if len(v) != 8 {
		return time.Time{}, false
	}
	return fromUnixNano(int64(binary.BigEndian.Uint64(v))), true
}

// unixNano maps the zero time to 0 (time.Time{}.UnixNano is undefined).
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
