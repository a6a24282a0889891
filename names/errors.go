package names

import (
	"errors"
	"fmt"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/rpc"
)

// Sentinel errors. Each wraps the blocks or rpc sentinel naming its wire
// status, so rpc.StatusOf maps them without a table of its own.
var (
	// ErrBadPath: a path or path@version that is not valid.
	ErrBadPath = fmt.Errorf("invalid name: %w", rpc.ErrBadRequest)
	// ErrNotFound: no such name or version.
	ErrNotFound = fmt.Errorf("name %w", blocks.ErrNotFound)
	// ErrRemoved: the name, or that version, was removed (or expired).
	ErrRemoved = fmt.Errorf("name removed: %w", blocks.ErrDeleted)
	// ErrDenied: the entry's mode does not let this writer change it.
	ErrDenied = fmt.Errorf("name: %w", rpc.ErrDenied)
	// ErrClosed: the namespace or service was closed.
	ErrClosed = errors.New("names: closed")
)
