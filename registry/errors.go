package registry

import "errors"

// Sentinel errors, wrapped with %w; test them with errors.Is.
var (
	// ErrBadConfig: Config failed validation.
	ErrBadConfig = errors.New("registry: invalid config")
	// ErrBadMember: a member record or group name violates a limit.
	ErrBadMember = errors.New("registry: invalid member record")
	// ErrBadSnapshot: a snapshot failed to decode or violates a limit.
	ErrBadSnapshot = errors.New("registry: malformed snapshot")
	// ErrLeft: this node has left (Leave) and its record is final.
	ErrLeft = errors.New("registry: node has left")
)
