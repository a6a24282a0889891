package rpc

import (
	"fmt"

	"github.com/emerge-dev/emerge/blocks"
)

// IDs is a list of block ids on the wire: one bin of 32-byte ids.
type IDs []byte

// MaxIDs caps the ids of one request.
const MaxIDs = 4096

// PackIDs encodes ids.
func PackIDs(ids []blocks.ID) IDs {
	out := make(IDs, 0, len(ids)*blocks.IDSize)
	for i := range ids {
		out = append(out, ids[i][:]...)
	}
	return out
}

// Unpack decodes the ids, checking the length and the cap.
func (b IDs) Unpack() ([]blocks.ID, error) {
	if len(b)%blocks.IDSize != 0 {
		return nil, fmt.Errorf("%w: id list of %d bytes", ErrBadRequest, len(b))
	}
	n := len(b) / blocks.IDSize
	if n > MaxIDs {
		return nil, fmt.Errorf("%w: %d ids, limit %d", ErrTooLarge, n, MaxIDs)
	}
	out := make([]blocks.ID, n)
	for i := range out {
		copy(out[i][:], b[i*blocks.IDSize:])
	}
	return out, nil
}

// IHaveReq answers a who-has: of the ids asked in ReqID, the sender holds
// IDs (blocks, or the manifest when an id is the ref asked for).
type IHaveReq struct {
	Header
	ReqID uint64 `msgpack:"req"`
	Node  string `msgpack:"node"`
	IDs   IDs    `msgpack:"ids"`
}

// PutBlocksReq pushes blocks to a placement owner during a put: one data
// frame per id, each verified by the receiver. Key is the object's ref, or
// the upload's pending key while the ref is not known yet.
type PutBlocksReq struct {
	Header
	Key []byte `msgpack:"key"`
	IDs IDs    `msgpack:"ids"`
	// Repair marks copies a repair makes: the receiver leaves the blocks'
	// repair to the sender for a while.
	Repair bool `msgpack:"repair,omitempty"`
}

// GetBlocksReq asks a node for blocks from its own store. The reply
// (GetBlocksRep) has one data frame per held id, in order.
type GetBlocksReq struct {
	Header
	IDs IDs `msgpack:"ids"`
}

// GetBlocksRep lists the ids not held, so the frames match the rest in order.
type GetBlocksRep struct {
	Header
	Missing IDs `msgpack:"missing,omitempty"`
}

// PutManifestReq commits a manifest at a holder. The data frame is the
// manifest record. Pending, when set, is the key the blocks were pushed under.
type PutManifestReq struct {
	Header
	Ref     []byte `msgpack:"ref"`
	Pending []byte `msgpack:"pending,omitempty"`
	// Kept: the receiver is a prefetch target of the put, so its copies are
	// kept (prefetched) copies, never trimmed, rather than owner copies.
	Kept bool `msgpack:"kept,omitempty"`
}

// PutManifestRep reports how many of the object's blocks the holder has.
type PutManifestRep struct {
	Header
	Held int `msgpack:"held"`
}

// GetManifestRep answers get_manifest: the record is the data frame. When
// the answering node holds a tombstone of the ref instead, there is no data
// frame and Tomb is the time of the delete (unix ns), so the asker can tell
// a delete from a newer put.
type GetManifestRep struct {
	Header
	Tomb int64 `msgpack:"tomb,omitempty"`
}

// ForgetReq applies a delete made at At (unix ns) on the receiving node.
// With IfKnown the receiver applies it only if it has the object (and
// answers not_found otherwise, writing nothing): the node taking an rm of a
// ref it does not know asks this way first, so that an rm of a ref nobody
// stored changes nothing anywhere.
type ForgetReq struct {
	Header
	Ref     []byte `msgpack:"ref"`
	At      int64  `msgpack:"at"`
	IfKnown bool   `msgpack:"ifknown,omitempty"`
}

// TombstonesReq asks for deletes made after Since (unix ns), oldest first.
type TombstonesReq struct {
	Header
	Since int64 `msgpack:"since"`
}

// TombstonesRep lists up to MaxIDs deletes: Refs (32 bytes each) with
// their times, oldest first. More says another page follows: ask again with
// Since set to the last time.
type TombstonesRep struct {
	Header
	Refs IDs     `msgpack:"refs"`
	At   []int64 `msgpack:"at"`
	More bool    `msgpack:"more,omitempty"`
}
