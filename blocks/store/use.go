package store

import (
	"fmt"

	"github.com/emerge-dev/emerge/blocks"
)

// Use says why this node holds an object's blocks. Numbers are stored:
// append only.
type Use uint8

const (
	// UseOwner: the object was put here or pushed here as a placement replica.
	UseOwner Use = 1
	// UseCache: a copy left behind by a get; evictable, counts for nothing.
	UseCache Use = 2
	// UseKept: an owner copy kept on purpose (a prefetch asked for it): it
	// counts as a durable copy like UseOwner, and repair never trims it.
	UseKept Use = 3
)

func (u Use) String() string {
	switch u {
	case UseOwner:
		return "owner"
	case UseCache:
		return "cache"
	case UseKept:
		return "kept"
	}
	return fmt.Sprintf("use(%d)", uint8(u))
}

// Durable reports an owner copy (UseOwner or UseKept).
func (u Use) Durable() bool { return u == UseOwner || u == UseKept }

func (u Use) check() error {
	if u != UseOwner && u != UseCache && u != UseKept {
		return fmt.Errorf("%w: %s", blocks.ErrInvalidArgument, u)
	}
	return nil
}

// stronger returns the use that holds more firmly: kept beats owner beats
// cache.
func stronger(a, b Use) Use {
	switch {
	case a == UseKept || b == UseKept:
		return UseKept
	case a == UseOwner || b == UseOwner:
		return UseOwner
	}
	return UseCache
}
