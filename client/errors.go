package client

import (
	"errors"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/internal/curve"
	"github.com/emerge-dev/emerge/internal/endpoint"
	"github.com/emerge-dev/emerge/rpc"
)

// Errors a caller may test with errors.Is. They are the same values the
// lower layers use, so a status from the wire matches too.
var (
	ErrNotFound = blocks.ErrNotFound // unknown ref, or deleted (ErrDeleted matches it too)
	// ErrDeleted: the object was deleted. It matches ErrNotFound as well, so
	// errors.Is(err, ErrNotFound) covers "not there, for whatever reason";
	// test ErrDeleted first to tell a deletion apart.
	ErrDeleted      error = deletedError{}
	ErrBadRef             = blocks.ErrBadRef       // malformed ref string
	ErrNoSpace            = blocks.ErrNoSpace      // the node's disk or shared memory is full
	ErrCorrupt            = blocks.ErrHashMismatch // a block did not match its id
	ErrBadRequest         = rpc.ErrBadRequest      // the node rejected the request
	ErrTooLarge           = rpc.ErrTooLarge        // over a protocol limit
	ErrUnavailable        = rpc.ErrUnavailable     // node busy, or fewer members alive than min_replicas
	ErrUnreachable        = rpc.ErrUnreachable     // no answer from the node
	ErrUnsupported        = rpc.ErrUnsupported     // the node does not know the op or protocol version
	ErrClientClosed       = rpc.ErrClosed          // the client was closed
	ErrBadEndpoint        = endpoint.ErrBad        // Dial: not tcp://host:port, host:port or ipc://path
	// ErrStoredBeforeCancel: a put was canceled after the node had stored
	// the object; the result carries its ref. It wraps the context's error.
	ErrStoredBeforeCancel = errors.New("the object was stored before the cancel arrived")
	ErrDenied             = rpc.ErrDenied   // the node refused our cluster secret or key, or wants one
	ErrConflict           = rpc.ErrConflict // a compare-and-set (Bind with IfVersion) found another version
	ErrBadKey             = curve.ErrKey    // an unreadable or malformed cluster secret or key file
)

// deletedError is ErrDeleted: blocks.ErrDeleted that also matches
// ErrNotFound.
type deletedError struct{}

func (deletedError) Error() string   { return blocks.ErrDeleted.Error() }
func (deletedError) Unwrap() []error { return []error{blocks.ErrDeleted, blocks.ErrNotFound} }

// wireDeleted is an error from the node (or the node's own layers) that says
// deleted: its message is unchanged, and errors.Is matches ErrDeleted and
// ErrNotFound as well as everything err matches.
type wireDeleted struct{ err error }

func (e wireDeleted) Error() string   { return e.err.Error() }
func (e wireDeleted) Unwrap() []error { return []error{e.err, ErrDeleted} }

// matchDeleted makes a "deleted" error match ErrDeleted and ErrNotFound.
func matchDeleted(err error) error {
	if err == nil || !errors.Is(err, blocks.ErrDeleted) || errors.Is(err, ErrDeleted) {
		return err
	}
	return wireDeleted{err}
}
