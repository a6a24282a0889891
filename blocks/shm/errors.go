package shm

import (
	"errors"
	"fmt"

	"github.com/emerge-dev/emerge/blocks"
)

// Sentinel errors, tested with errors.Is.
var (
	// ErrNoSpace: the tier cannot make room (what is left is reserved,
	// uploading or otherwise not evictable), or the filesystem under Dir
	// is full. The node falls back to streaming.
	ErrNoSpace = errors.New("shared-memory tier full")
	// ErrTooLarge: the object is larger than the tier's whole capacity. It
	// wraps ErrNoSpace, so errors.Is(err, ErrNoSpace) holds as well.
	ErrTooLarge = fmt.Errorf("%w: object larger than the tier's capacity", ErrNoSpace)
	// ErrNotFound: no hot copy of that ref. It wraps blocks.ErrNotFound.
	ErrNotFound = fmt.Errorf("%w: no hot copy", blocks.ErrNotFound)
	// ErrExists: the ref is already hot or a Writer for it is open.
	ErrExists = errors.New("hot copy exists or is being written")
	// ErrClosed: the tier was closed.
	ErrClosed = errors.New("shared-memory tier closed")
	// ErrBadConfig: a Config field is missing or out of range.
	ErrBadConfig = errors.New("bad shared-memory tier config")
	// ErrBusy: another process holds the file (a client still has an upload
	// open, or another tier uses the same Dir).
	ErrBusy = errors.New("shared-memory file busy")
	// ErrStale: the file at the path is no longer the hot copy the node
	// named (evicted, recycled or replaced since). Ask the node again.
	ErrStale = errors.New("hot copy gone; ask the node again")
	// ErrOverflow: a write past the size the file was created with.
	ErrOverflow = errors.New("write past the declared size")
	// ErrShortWrite: Seal on a Writer that was given fewer bytes than its size.
	ErrShortWrite = errors.New("hot copy not completely written")
	// ErrFinished: the Writer was already sealed or aborted.
	ErrFinished = errors.New("writer already sealed or aborted")
	// ErrBadUpload: unknown upload name, an upload in the wrong state
	// (commit before seal), or an upload whose size a client changed.
	ErrBadUpload = errors.New("bad upload")
)
