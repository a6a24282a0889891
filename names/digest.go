package names

import (
	"encoding/binary"
	"sort"

	"github.com/zeebo/blake3"
)

// NumBuckets is the number of path buckets anti-entropy compares.
const NumBuckets = 256

// bucket holds the paths whose hash falls in it, and its cached digest.
type bucket struct {
	paths    map[string]pathEntries
	digest   uint64
	digestOK bool
}

// BucketOf is the bucket of a path: the first byte of its BLAKE3 hash.
func BucketOf(path string) int {
	h := blake3.Sum256([]byte(path))
	return int(h[0])
}

// Digests returns the digest of every bucket: a hash of its entry keys
// (path, HLC, writer) in order; 0 for an empty bucket. Two nodes holding
// the same entries have the same digests.
func (ns *Namespace) Digests() []uint64 {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	out := make([]uint64, NumBuckets)
	for b := range ns.buckets {
		out[b] = ns.digestLocked(b)
	}
	return out
}

func (ns *Namespace) digestLocked(b int) uint64 {
	bk := &ns.buckets[b]
	if bk.digestOK {
		return bk.digest
	}
	bk.digest, bk.digestOK = 0, true
	if len(bk.paths) == 0 {
		return 0
	}
	h := blake3.New()
	var buf []byte
	for _, path := range sortedPaths(bk.paths) {
		for _, e := range bk.paths[path] {
			buf = binary.AppendUvarint(buf[:0], uint64(len(path)))
			buf = append(buf, path...)
			buf = binary.BigEndian.AppendUint64(buf, uint64(e.HLC.Wall))
			buf = binary.BigEndian.AppendUint32(buf, e.HLC.Logical)
			buf = binary.AppendUvarint(buf, uint64(len(e.Writer)))
			buf = append(buf, e.Writer...)
			_, _ = h.Write(buf)
		}
	}
	bk.digest = binary.BigEndian.Uint64(h.Sum(nil))
	return bk.digest
}

// Bucket returns every entry of bucket b, by path then key.
func (ns *Namespace) Bucket(b int) []Entry {
	if b < 0 || b >= NumBuckets {
		return nil
	}
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	return ns.bucketLocked(b)
}

func (ns *Namespace) bucketLocked(b int) []Entry {
	bk := &ns.buckets[b]
	var out []Entry
	for _, path := range sortedPaths(bk.paths) {
		out = append(out, bk.paths[path]...)
	}
	return out
}

func sortedPaths(m map[string]pathEntries) []string {
	out := make([]string, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
