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
	// UseCache: a copy left behind by a get.
	UseCache Use = 2
)

func (u Use) String() string {
	switch u {
	case UseOwner:
		return "owner"
	case UseCache:
		return "cache"
	}
	return fmt.Sprintf("use(%d)", uint8(u))
}

func (u Use) check() error {
	if u != UseOwner && u != UseCache {
		return fmt.Errorf("%w: %s", blocks.ErrInvalidArgument, u)
	}
	return nil
}

// stronger returns the use that holds more firmly: owner beats cache.
func stronger(a, b Use) Use {
	if a == UseOwner || b == UseOwner {
		return UseOwner
	}
	return UseCache
}
