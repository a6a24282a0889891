package registry

import (
	"encoding/binary"

	"github.com/zeebo/blake3"
)

// Digest returns a 64-bit hash of the gossiped table: every field of every
// record (self, Dead and Left members included) in id order. Local liveness
// is not part of it, so two nodes holding the same records have the same
// digest whatever they think of each member; a heartbeat carrying another
// digest means the tables differ and one should pull. The value is cached
// until a record changes.
func (r *Registry) Digest() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.digestOK {
		return r.digest
	}
	h := blake3.New()
	buf := binary.AppendUvarint(make([]byte, 0, 512), uint64(len(r.table)))
	for _, id := range r.sortedIDsLocked() {
		buf = appendRecord(buf, r.table[id].m)
		_, _ = h.Write(buf)
		buf = buf[:0]
	}
	r.digest = binary.BigEndian.Uint64(h.Sum(nil))
	r.digestOK = true
	return r.digest
}
