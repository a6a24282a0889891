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
)

var opNames = map[Op]string{
	OpPing: "ping", OpPutObject: "put_object", OpPutStart: "put_start", OpPutData: "put_data",
	OpPutCommit: "put_commit", OpPutAbort: "put_abort", OpGetObject: "get_object", OpStat: "stat",
	OpDelete: "delete", OpList: "list", OpInfo: "info",
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
)

var statusNames = map[Status]string{
	StatusOK: "ok", StatusNotFound: "not_found", StatusBadRequest: "bad_request", StatusTooLarge: "too_large",
	StatusUnavailable: "unavailable", StatusInternal: "internal", StatusNoSpace: "no_space",
	StatusDeleted: "deleted", StatusUnsupported: "unsupported", StatusTimeout: "timeout", StatusCanceled: "canceled",
}

func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}
