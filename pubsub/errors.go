package pubsub

import "errors"

// Sentinel errors. Callers test them with errors.Is.
var (
	// ErrBadMessage: a frame or message is malformed or violates a cap.
	// Every Decode error wraps it.
	ErrBadMessage = errors.New("bad pubsub message")
	// ErrUnsupported: an unknown protocol version or message type. Errors that
	// wrap it also wrap ErrBadMessage.
	ErrUnsupported = errors.New("unsupported pubsub message")
	// ErrTooLarge: a message exceeds a cap (ids, strings, groups, frame size).
	// Errors that wrap it also wrap ErrBadMessage; the sender must split
	// (see SplitIDs).
	ErrTooLarge = errors.New("pubsub message too large")
	// ErrBadEndpoint: an endpoint string the bus cannot bind or connect to.
	ErrBadEndpoint = errors.New("bad pubsub endpoint")
	// ErrBadConfig: a Config or HubOptions field is invalid.
	ErrBadConfig = errors.New("bad pubsub config")
	// ErrClosed: the bus was closed.
	ErrClosed = errors.New("pubsub bus closed")
)
