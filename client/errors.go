package client

import (
	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/internal/curve"
	"github.com/emerge-dev/emerge/rpc"
)

// Errors a caller may test with errors.Is. They are the same values the
// lower layers use, so a status from the wire matches too.
var (
	ErrNotFound     = blocks.ErrNotFound     // unknown ref
	ErrDeleted      = blocks.ErrDeleted      // the object was deleted
	ErrBadRef       = blocks.ErrBadRef       // malformed ref string
	ErrNoSpace      = blocks.ErrNoSpace      // the node's disk or shared memory is full
	ErrCorrupt      = blocks.ErrHashMismatch // a block did not match its id
	ErrBadRequest   = rpc.ErrBadRequest      // the node rejected the request
	ErrTooLarge     = rpc.ErrTooLarge        // over a protocol limit
	ErrUnavailable  = rpc.ErrUnavailable     // node busy, or too few members for the replicas asked
	ErrUnreachable  = rpc.ErrUnreachable     // no answer from the node
	ErrUnsupported  = rpc.ErrUnsupported     // the node does not know the op or protocol version
	ErrClientClosed = rpc.ErrClosed          // the client was closed
	ErrDenied       = rpc.ErrDenied          // the node refused our cluster secret or key, or wants one
	ErrBadKey       = curve.ErrKey           // an unreadable or malformed cluster secret or key file
)
