package pubsub

import (
	"fmt"
	"time"

	"github.com/emerge-dev/emerge/blocks"
)

// Type is a message's type: the second byte of a frame. Only append to this
// list: numbers are on the wire.
type Type uint8

const (
	TypeHello     Type = 1 // a node announces itself (on start, on join)
	TypeHeartbeat Type = 2 // periodic liveness with the registry digest
	TypeLeave     Type = 3 // a node departs on purpose
	TypeWhoHas    Type = 4 // who holds these blocks? answer over rpc to ReplyTo
	TypeHave      Type = 5 // the sender now holds these blocks of Ref (prefetch)
	TypeDelete    Type = 6 // Ref was deleted at At
	TypePrefetch  Type = 7 // spread Ref to Groups and Nodes
	TypeName      Type = 8 // new namespace entries (Payload, encoded by package names)
)

func (t Type) String() string {
	if k, ok := kindOf(t); ok {
		return k.name
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Message is one broadcast. Type says which fields it carries (listed by
// field); Encode sends only those and Decode fills only those, so a field a
// type does not carry is always its zero value after a round trip. Empty
// slices decode as nil.
type Message struct {
	Type Type
	// From is the sender's node id (every type). A bus stamps its own node id
	// on messages published with an empty From.
	From string

	// Incarnation orders a member's own records (Hello, Heartbeat, Leave).
	Incarnation uint64
	// RPC and Pub are the sender's rpc and pub endpoints (Hello, Heartbeat).
	RPC string
	Pub string
	// Digest summarises the sender's registry (Hello, Heartbeat); a receiver
	// with another digest pulls the registry over rpc.
	Digest uint64

	// ReqID matches answers to a question (WhoHas).
	ReqID uint64
	// ReplyTo is the rpc endpoint to answer on (WhoHas).
	ReplyTo string
	// IDs are block ids (WhoHas, Have); at most MaxIDs, see SplitIDs.
	IDs []blocks.ID

	// Ref is the object concerned (Have, Delete, Prefetch).
	Ref blocks.Ref
	// At is when the object was deleted (Delete); the zero time is allowed.
	At time.Time
	// Groups and Nodes name who should prefetch Ref (Prefetch).
	Groups []string
	Nodes  []string

	// Payload is opaque to the bus (Name): the namespace's own encoding of
	// its entries, which it checks on receipt. At most MaxPayload bytes.
	Payload []byte
}
