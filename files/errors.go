package files

import (
	"errors"
	"fmt"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/rpc"
)

// Sentinel errors. They wrap the rpc/blocks sentinel that names their wire
// status, so rpc.StatusOf needs no table of its own for them. Store errors
// (blocks.ErrNotFound, ...) pass through wrapped.
var (
	// ErrUploadNotFound: no upload with that id (never opened, committed, aborted or expired).
	ErrUploadNotFound = fmt.Errorf("upload %w", blocks.ErrNotFound)
	// ErrBadUpload: an upload's blocks do not form a valid object.
	ErrBadUpload = fmt.Errorf("invalid upload: %w", rpc.ErrBadRequest)
	// ErrClosed: the service was closed.
	ErrClosed = errors.New("files service closed")
)
