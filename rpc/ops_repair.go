package rpc

// HoldsReq asks how the answering node holds each block of IDs (at most
// MaxIDs).
type HoldsReq struct {
	Header
	IDs IDs `msgpack:"ids"`
}

// HoldsRep answers HoldsReq with bitmaps, one bit per requested id in
// order (bit i is byte i/8, bit i%8): Owned, a durable (owner) copy is
// stored; Kept, that copy is kept on purpose (a prefetch) and never
// trimmed; Cached, only a cache copy is.
type HoldsRep struct {
	Header
	Owned  []byte `msgpack:"own"`
	Cached []byte `msgpack:"cache"`
	Kept   []byte `msgpack:"kept,omitempty"`
}

// Bitmap returns a bitmap of n bits, the set ones given by set.
func Bitmap(n int, set func(i int) bool) []byte {
	b := make([]byte, (n+7)/8)
	for i := 0; i < n; i++ {
		if set(i) {
			b[i/8] |= 1 << (i % 8)
		}
	}
	return b
}

// BitSet reports bit i of a bitmap; bits past its end are unset.
func BitSet(b []byte, i int) bool { return i/8 < len(b) && b[i/8]&(1<<(i%8)) != 0 }

// RepairHintReq tells a holder that blocks lost a copy (a quarantined or
// lost copy elsewhere): the receiver runs its repair pass soon. Suspect
// says instead that the receiver itself sent bytes that did not match
// these ids (served unverified through get_blocks): it re-reads its copies
// of them with the hash check, which quarantines a bad one, then repairs.
type RepairHintReq struct {
	Header
	IDs     IDs  `msgpack:"ids"`
	Suspect bool `msgpack:"suspect,omitempty"`
}

// ReleaseReq drops the copies of IDs pushed under Key (a pending key of a
// put that was aborted), on the receiving node only.
type ReleaseReq struct {
	Header
	Key []byte `msgpack:"key"`
	IDs IDs    `msgpack:"ids"`
}

// HoldersRep lists, for each block of an object in order, the live members
// holding an owner copy and those holding only a cache copy.
type HoldersRep struct {
	Header
	Ref      []byte        `msgpack:"ref"`
	Replicas int           `msgpack:"rep"`
	Blocks   []BlockHolder `msgpack:"blocks"`
	// Members that did not answer the census (their copies are unknown).
	Silent Strings `msgpack:"silent,omitempty"`
}

// BlockHolder is one block of a HoldersRep.
type BlockHolder struct {
	ID     []byte  `msgpack:"id"`
	Owners Strings `msgpack:"owners"`
	Caches Strings `msgpack:"caches,omitempty"`
}

// HealthRep is a node's view of the durability of what it holds.
type HealthRep struct {
	Header
	Node string `msgpack:"node"`
	// From the last repair pass over the objects this node holds as owner:
	ObjectsUnder   int    `msgpack:"obj_under"`          // objects with a block under its target
	BlocksUnder    int    `msgpack:"blk_under"`          // blocks under their target
	BlocksOver     int    `msgpack:"blk_over"`           // blocks above it
	LastPass       int64  `msgpack:"last_pass"`          // unix ns, 0: none yet
	PassDeferred   string `msgpack:"deferred,omitempty"` // why the last pass did not repair (partition, members just gone)
	RepairQueue    int    `msgpack:"queue"`              // blocks the running repair still has to move
	RepairedCopies int64  `msgpack:"repaired"`           // copies this node made since it started
	RepairedBytes  int64  `msgpack:"repaired_bytes"`
	TrimmedCopies  int64  `msgpack:"trimmed"` // copies above target this node dropped
	// Scrub:
	ScrubPasses  int64 `msgpack:"scrub_passes"`  // full passes finished since start
	ScrubChecked int64 `msgpack:"scrub_checked"` // blocks re-hashed since start
	ScrubLast    int64 `msgpack:"scrub_last"`    // unix ns of the last finished pass
	Corrupt      int64 `msgpack:"corrupt"`       // bad copies found and quarantined since start
}
