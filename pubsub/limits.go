package pubsub

// Version is the protocol version this package speaks: the first byte of
// every frame. A frame of another version is rejected with ErrUnsupported.
const Version = 1

// Caps. Encode refuses a message over any of them (wrapping ErrTooLarge) and
// Decode rejects a frame over any of them.
const (
	// MaxFrame caps a whole frame: version, type and body.
	MaxFrame = 128 << 10
	// MaxIDs caps the block ids of one WhoHas or Have (64 KiB of ids).
	MaxIDs = 2048
	// MaxString caps every string field: node ids, endpoints, group names.
	MaxString = 256
	// MaxGroups caps the groups of one Prefetch.
	MaxGroups = 64
	// MaxNodes caps the nodes of one Prefetch.
	MaxNodes = 64
	// MaxPayload caps the opaque payload of a Name message.
	MaxPayload = 64 << 10
)

// headerLen is the version byte plus the type byte.
const headerLen = 2

// maxDepth caps msgpack nesting in a body. Our bodies are two levels deep
// (a map holding arrays of strings); the slack admits fields added later.
const maxDepth = 8
