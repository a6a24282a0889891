package rpc

import "fmt"

// Shared-memory ops, for a client on the node's machine (same host id in
// PingRep). No object byte crosses the socket: the replies name files in
// the node's shared-memory directory, which the client maps or fills.
// OpShmClose is reserved and not served: a client's view holds its own
// lock on the file, so the node keeps no lease to close.

// MaxShmPath caps a file name or path in a shared-memory request or reply.
const MaxShmPath = 4096

// ShmGetReq asks the node to make an object hot (fetching missing blocks
// from peers, like a get) and to name its file. Reply: ShmFileRep.
type ShmGetReq struct {
	Header
	Ref []byte `msgpack:"ref"`
}

// ShmFileRep names a file in the node's shared-memory directory: a hot copy
// (ShmGet) or an upload (ShmCreate). Size is the file's size, fixed.
type ShmFileRep struct {
	Header
	Name string `msgpack:"name"` // the name inside the directory; uploads are sealed and aborted by it
	Path string `msgpack:"path"` // the absolute path the client opens
	Size int64  `msgpack:"size"`
	// Stream (shm_get): the object is not hot and this node lacks some of
	// its blocks; it fetches them and makes the hot copy in the background.
	// The client streams meanwhile (get_object), which makes progress as
	// blocks land; Name and Path are empty.
	Stream bool `msgpack:"stream,omitempty"`
}

// ShmCreateReq asks for an upload file of Size bytes, pages allocated.
// Reply: ShmFileRep. StatusTooLarge: Size is over the node's whole
// shared-memory capacity (stream instead). StatusNoSpace: the capacity is
// taken by other uploads.
type ShmCreateReq struct {
	Header
	Size int64 `msgpack:"size"`
}

// ShmSealReq asks the node to persist the filled upload Name as an object
// with the put's options, exactly as a streamed put would (blocks hashed and
// stored, replicas made, manifest committed), and to keep the file as the
// object's hot copy. Reply: PutRep. The upload is gone afterwards, whatever
// the outcome.
type ShmSealReq struct {
	Header
	PutParams
	Name string `msgpack:"name"`
}

// ShmAbortReq drops the upload Name. No reply body.
type ShmAbortReq struct {
	Header
	Name string `msgpack:"name"`
}

// CheckShmName rejects a name that is empty, over MaxShmPath or not a bare
// file name.
func CheckShmName(name string) error {
	if name == "" || len(name) > MaxShmPath {
		return fmt.Errorf("%w: shared-memory name of %d bytes", ErrBadRequest, len(name))
	}
	for i := 0; i < len(name); i++ {
		if name[i] == '/' || name[i] == 0 {
			return fmt.Errorf("%w: shared-memory name %q is not a file name", ErrBadRequest, name)
		}
	}
	return nil
}

// ShmInfo is a node's shared-memory tier in InfoRep.
type ShmInfo struct {
	Dir       string `msgpack:"dir"`
	Capacity  int64  `msgpack:"cap"`
	Used      int64  `msgpack:"used"` // hot copies, uploads and recycled files
	Objects   int    `msgpack:"n"`    // hot copies
	Evictions uint64 `msgpack:"evict"`
	Gets      uint64 `msgpack:"gets"` // ShmGet answered since start
	Puts      uint64 `msgpack:"puts"` // uploads sealed into objects since start
}
