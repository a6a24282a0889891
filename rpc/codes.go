package rpc

import "fmt"

// Version is the protocol version this package speaks. A request with a
// higher version is answered with StatusUnsupported.
const Version = 1

// Op names a request type. Only append to this list: numbers are on the wire.
type Op uint8

const (
	OpPing      Op = 1  // liveness and identity of the node
	OpPutObject Op = 2  // one-shot put: the whole object in the data frames
	OpPutStart  Op = 3  // open a streamed upload
	OpPutData   Op = 4  // blocks of a streamed upload, by sequence number
	OpPutCommit Op = 5  // finish an upload: manifest, replicas, ref
	OpPutAbort  Op = 6  // drop an upload
	OpGetObject Op = 7  // a range of an object's blocks, optionally its manifest
	OpStat      Op = 8  // an object's manifest summary
	OpDelete    Op = 9  // delete an object
	OpList      Op = 10 // page through objects
	OpInfo      Op = 11 // the node's identity and store counters

	// Peer network: node to node.
	OpJoin        Op = 12 // a newcomer's record in, the member table out
	OpRegistry    Op = 13 // the member table (snapshot bytes), for digest mismatches
	OpMembers     Op = 14 // members with this node's view of their liveness, and recent events
	OpIHave       Op = 15 // answer to a who-has broadcast: which of the ids the sender holds
	OpPutBlocks   Op = 16 // push blocks to a placement owner during a put
	OpGetBlocks   Op = 17 // blocks by id, from this node's store only (never fetches)
	OpGetManifest Op = 18 // a manifest record by ref, from this node only
	OpPutManifest Op = 19 // commit a manifest at a holder (after PutBlocks)
	OpForget      Op = 20 // apply a delete (tombstone, drop blocks) on this node
	OpTombstones  Op = 21 // tombstones newer than a time, for a node catching up
	OpLocate      Op = 22 // which members hold which blocks of an object (diagnostics)

	// Self-healing (ops_repair.go).
	OpHolds      Op = 23 // node to node: how the answering node holds each of some blocks (repair census)
	OpRepairHint Op = 24 // node to node: these blocks lost a copy here; the receiver should look at them
	OpRelease    Op = 25 // node to node: drop the copies pushed under a pending key (an aborted put)
	OpHolders    Op = 26 // the live members holding each block of an object, copies per block
	OpHealth     Op = 27 // the answering node's repair and scrub state

	// Shared memory (same machine only).
	OpShmGet    Op = 30 // make an object hot; reply with its file name
	OpShmCreate Op = 31 // an upload file of a given size for a local put
	OpShmSeal   Op = 32 // persist a filled upload file as an object
	OpShmAbort  Op = 33 // drop an upload file
	OpShmClose  Op = 34 // a client is done with a view (lease bookkeeping)

	// Groups and prefetch.
	OpGroup          Op = 40 // join or leave a group on the answering node
	OpPrefetch       Op = 41 // start spreading an object to groups or nodes
	OpPrefetchStatus Op = 42 // per-node progress of a prefetch
	OpPrefetchList   Op = 43 // the prefetch intents a node knows, for a node catching up

	// Names (ops_names.go).
	OpNameBind     Op = 50 // bind a path to a ref: a new version
	OpNameResolve  Op = 51 // the entry of path or path@N
	OpNameList     Op = 52 // names and directories under a prefix
	OpNameVersions Op = 53 // every version of a path
	OpNameMove     Op = 54 // bind the target to the source's object, remove the source
	OpNameRemove   Op = 55 // remove a name (a tombstone version), optionally every version
	OpNameDigests  Op = 56 // node to node: the namespace's bucket digests
	OpNameBucket   Op = 57 // node to node: every entry of one bucket (data frame)
	OpNameFollow   Op = 58 // add, drop or list the answering node's follow rules (prefix → groups)

	// Put to a swarm (ops_swarm.go): a put with prefetch targets, before it commits.
	OpPutSwarm  Op = 70 // node to node: a put for which the receiver is a prefetch target is landing on the sender
	OpPutLanded Op = 71 // node to node: the blocks of that put landed so far, and whether it committed
)

var opNames = map[Op]string{
	OpPing: "ping", OpPutObject: "put_object", OpPutStart: "put_start", OpPutData: "put_data",
	OpPutCommit: "put_commit", OpPutAbort: "put_abort", OpGetObject: "get_object", OpStat: "stat",
	OpDelete: "delete", OpList: "list", OpInfo: "info",
	OpJoin: "join", OpRegistry: "registry", OpMembers: "members", OpIHave: "ihave", OpPutBlocks: "put_blocks",
	OpGetBlocks: "get_blocks", OpGetManifest: "get_manifest", OpPutManifest: "put_manifest", OpForget: "forget",
	OpTombstones: "tombstones", OpLocate: "locate",
	OpHolds: "holds", OpRepairHint: "repair_hint", OpRelease: "release", OpHolders: "holders", OpHealth: "health",
	OpShmGet: "shm_get", OpShmCreate: "shm_create", OpShmSeal: "shm_seal", OpShmAbort: "shm_abort", OpShmClose: "shm_close",
	OpGroup: "group", OpPrefetch: "prefetch", OpPrefetchStatus: "prefetch_status", OpPrefetchList: "prefetch_list",
	OpNameBind: "name_bind", OpNameResolve: "name_resolve", OpNameList: "name_list", OpNameVersions: "name_versions",
	OpNameMove: "name_move", OpNameRemove: "name_remove", OpNameDigests: "name_digests", OpNameBucket: "name_bucket",
	OpNameFollow: "name_follow", OpPutSwarm: "put_swarm", OpPutLanded: "put_landed",
}

func (o Op) String() string {
	if s, ok := opNames[o]; ok {
		return s
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// Status is a reply's outcome. Only append to this list: numbers are on the wire.
type Status uint8

const (
	StatusOK          Status = 0
	StatusNotFound    Status = 1  // unknown ref, block or upload
	StatusBadRequest  Status = 2  // malformed frame, header or argument
	StatusTooLarge    Status = 3  // a frame, message or object over a cap
	StatusUnavailable Status = 4  // busy, or not enough live members
	StatusInternal    Status = 5  // a bug or an unexpected storage error
	StatusNoSpace     Status = 6  // disk or shared memory full
	StatusDeleted     Status = 7  // the object was deleted
	StatusUnsupported Status = 8  // unknown op or protocol version
	StatusTimeout     Status = 9  // the node gave up waiting on something
	StatusCanceled    Status = 10 // the node is shutting down
	StatusDenied      Status = 11 // the client's key is not (or no longer) allowed
	StatusConflict    Status = 12 // a compare-and-set found another version
)

var statusNames = map[Status]string{
	StatusOK: "ok", StatusNotFound: "not_found", StatusBadRequest: "bad_request", StatusTooLarge: "too_large",
	StatusUnavailable: "unavailable", StatusInternal: "internal", StatusNoSpace: "no_space",
	StatusDeleted: "deleted", StatusUnsupported: "unsupported", StatusTimeout: "timeout", StatusCanceled: "canceled",
	StatusDenied: "denied", StatusConflict: "conflict",
}

func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}
