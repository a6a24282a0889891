package rpc

import (
	"fmt"

	"github.com/emerge-dev/emerge/blocks"
)

// Request and reply bodies. Each embeds Header, so the header frame is one
// flat map; msgpack keys are short and explicit. Refs travel as 32-byte bins.
// Data frames are described on each op.

// PingReq asks a node who it is.
type PingReq struct{ Header }

// PingRep identifies the node. Host lets a client on the same machine use
// shared memory.
type PingRep struct {
	Header
	Node    string `msgpack:"node"`
	Host    string `msgpack:"host"`
	Version string `msgpack:"ver"`
	// BlockSize is the node's default block size.
	BlockSize int `msgpack:"bs"`
	// MaxInline is the largest object PutObject accepts in one message.
	MaxInline int64 `msgpack:"maxin"`
}

// PutParams are the options of a put.
type PutParams struct {
	BlockSize   int    `msgpack:"bs,omitempty"`     // 0: the node's default
	Replicas    int    `msgpack:"rep,omitempty"`    // target copies; 0: the node's default
	MinReplicas int    `msgpack:"minrep,omitempty"` // copies before the put returns; 0: the node's default
	ContentType string `msgpack:"ct,omitempty"`
	Meta        Meta   `msgpack:"meta,omitempty"`
	// PrefetchGroups and PrefetchNodes make the node spread the object to
	// those targets while the put lands, and start the prefetch when it
	// commits (PutRep.Prefetch says it did). A node that ignores them
	// leaves the prefetch to the client.
	PrefetchGroups Strings `msgpack:"pfg,omitempty"`
	PrefetchNodes  Strings `msgpack:"pfn,omitempty"`
}

// PutObjectReq carries a whole object: the data frames, concatenated, are its
// bytes (at most MaxInline in all).
type PutObjectReq struct {
	Header
	PutParams
}

// PutRep answers PutObject and PutCommit.
type PutRep struct {
	Header
	Ref    []byte `msgpack:"ref"`
	Size   int64  `msgpack:"size"`
	Blocks int    `msgpack:"n"`
	// Copies is the durable copies of the least replicated block when the
	// put returned; below Replicas (the target) the rest are left to repair.
	Copies   int `msgpack:"cp,omitempty"`
	Replicas int `msgpack:"rep,omitempty"`
	// Prefetch: the node started the prefetch the put asked for.
	Prefetch bool `msgpack:"pf,omitempty"`
}

// PutStartReq opens a streamed upload.
type PutStartReq struct {
	Header
	PutParams
}

// PutStartRep names the upload and the block size every PutData frame but
// the object's last must have.
type PutStartRep struct {
	Header
	Upload    uint64 `msgpack:"up"`
	BlockSize int    `msgpack:"bs"`
	Window    int    `msgpack:"win"` // PutData requests the client may keep in flight
}

// PutDataReq carries blocks Seq, Seq+1, ... of an upload, one per data frame.
type PutDataReq struct {
	Header
	Upload uint64 `msgpack:"up"`
	Seq    int    `msgpack:"seq"`
}

// PutCommitReq finishes an upload of Blocks blocks and Size bytes.
type PutCommitReq struct {
	Header
	Upload uint64 `msgpack:"up"`
	Blocks int    `msgpack:"n"`
	Size   int64  `msgpack:"size"`
}

// PutAbortReq drops an upload and its blocks.
type PutAbortReq struct {
	Header
	Upload uint64 `msgpack:"up"`
}

// GetObjectReq asks for blocks First..First+Count-1 of an object (Count 0: as
// many as fit one reply) and, with Manifest, for its manifest record first.
type GetObjectReq struct {
	Header
	Ref      []byte `msgpack:"ref"`
	First    int    `msgpack:"first"`
	Count    int    `msgpack:"count,omitempty"`
	Manifest bool   `msgpack:"man,omitempty"`
}

// GetObjectRep: data frames are [manifest record if Manifest] then Count
// blocks from First.
type GetObjectRep struct {
	Header
	Manifest bool  `msgpack:"man,omitempty"`
	First    int   `msgpack:"first"`
	Count    int   `msgpack:"count"`
	Size     int64 `msgpack:"size"`
	Blocks   int   `msgpack:"n"`
}

// RefReq names one object (Stat, Delete).
type RefReq struct {
	Header
	Ref []byte `msgpack:"ref"`
}

// StatRep describes an object.
type StatRep struct {
	Header
	Info ObjectInfo `msgpack:"info"`
}

// ObjectInfo is the wire form of an object's summary.
type ObjectInfo struct {
	Ref         []byte `msgpack:"r"`
	Size        int64  `msgpack:"s"`
	BlockSize   int    `msgpack:"bs"`
	Blocks      int    `msgpack:"n"`
	Replicas    int    `msgpack:"rep"`
	Created     int64  `msgpack:"c"` // unix nanoseconds
	ContentType string `msgpack:"ct,omitempty"`
	Meta        Meta   `msgpack:"meta,omitempty"`
	Local       int    `msgpack:"loc"` // blocks held by the answering node
}

// DeleteRep reports the bytes the answering node freed.
type DeleteRep struct {
	Header
	Freed int64 `msgpack:"freed"`
}

// ListReq pages through objects in ref order after After (empty: from the start).
type ListReq struct {
	Header
	After []byte `msgpack:"after,omitempty"`
	Limit int    `msgpack:"limit,omitempty"`
}

// MaxListLimit caps one List page.
const MaxListLimit = 1000

// ListRep is one page; Next is empty at the end.
type ListRep struct {
	Header
	Items ObjectInfos `msgpack:"items"`
	Next  []byte      `msgpack:"next,omitempty"`
}

// ParseRef reads a 32-byte ref field.
func ParseRef(b []byte) (blocks.Ref, error) {
	var r blocks.Ref
	if len(b) != blocks.IDSize {
		return r, fmt.Errorf("%w: ref of %d bytes, want %d", ErrBadRequest, len(b), blocks.IDSize)
	}
	copy(r[:], b)
	return r, nil
}

// InfoRep describes the answering node and its store.
type InfoRep struct {
	Header
	Node       string `msgpack:"node"`
	Host       string `msgpack:"host"`
	Version    string `msgpack:"ver"`
	Endpoint   string `msgpack:"rpc"`
	Objects    int64  `msgpack:"objects"`
	Blocks     int64  `msgpack:"blocks"`
	BlockBytes int64  `msgpack:"block_bytes"`
	DiskBytes  int64  `msgpack:"disk_bytes"`       // Badger's files: tables and value log
	Uploads    int    `msgpack:"uploads"`          // streamed uploads open
	Served     int64  `msgpack:"served,omitempty"` // block bytes served to peers (GetBlocks)

	Shm *ShmInfo `msgpack:"shm,omitempty"` // shared-memory tier; nil when off
}
