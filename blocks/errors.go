package blocks

import "errors"

// Sentinel errors. Callers test them with errors.Is; the rpc layer maps them
// to wire status codes and the CLI to exit codes.
var (
	// ErrNotFound: the block or object is not in this store.
	ErrNotFound = errors.New("not found")
	// ErrDeleted: the object was deleted (a tombstone newer than the data exists).
	ErrDeleted = errors.New("object deleted")
	// ErrBadRef: a ref or block id string is not 64 hex characters.
	ErrBadRef = errors.New("malformed ref")
	// ErrBadManifest: a manifest failed to decode or violates a limit.
	ErrBadManifest = errors.New("malformed manifest")
	// ErrBadBlockSize: a block size outside [MinBlockSize, MaxBlockSize].
	ErrBadBlockSize = errors.New("block size out of range")
	// ErrHashMismatch: bytes do not hash to the id they were offered under.
	ErrHashMismatch = errors.New("block hash mismatch")
	// ErrMissingBlocks: a manifest was committed before all its blocks were stored.
	ErrMissingBlocks = errors.New("manifest references missing blocks")
	// ErrNoSpace: the disk under the store is full.
	ErrNoSpace = errors.New("no space left on device")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store closed")
	// ErrInvalidArgument: a caller passed a value the API does not accept
	// (an unknown Use, an empty meta key, too many block ids).
	ErrInvalidArgument = errors.New("invalid argument")
)
