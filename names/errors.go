package names

import (
	"errors"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/rpc"
)

// Sentinel errors. Each wraps the blocks or rpc sentinel naming its wire
// status, so rpc.StatusOf maps them without a table of its own.
var (
	// ErrBadPath: a path or path@version that is not valid.
	ErrBadPath error = sentinel{"invalid name", rpc.ErrBadRequest}
	// ErrNotFound: no such name or version.
	ErrNotFound error = sentinel{"name not found", blocks.ErrNotFound}
	// ErrRemoved: the name, or that version, was removed (or expired).
	ErrRemoved error = sentinel{"name removed", blocks.ErrDeleted}
	// ErrDenied: the entry's mode does not let this writer change it.
	ErrDenied error = sentinel{"name refused by its mode", rpc.ErrDenied}
	// ErrConflict: a compare-and-set found another latest version.
	ErrConflict error = sentinel{"name changed", rpc.ErrConflict}
	// ErrClosed: the namespace or service was closed.
	ErrClosed = errors.New("names: closed")
)

// sentinel is an error with its own message that also matches the
// blocks or rpc sentinel naming its wire status.
type sentinel struct {
	msg  string
	wire error
}

func (s sentinel) Error() string { return s.msg }
func (s sentinel) Unwrap() error { return s.wire }
