package files

import (
	"context"

	"github.com/emerge-dev/emerge/pubsub"
	"github.com/emerge-dev/emerge/registry"
	"github.com/emerge-dev/emerge/rpc"
)

// Network is what object operations need from the node's peer layer: the
// live members, calls to a member's rpc endpoint, and the broadcast bus.
// The node implements it over its registry, connection pool and bus.
type Network interface {
	// Self is this node's own member record.
	Self() registry.Member
	// Live returns the members taking part in placement, self included.
	Live() []registry.Member
	// Call sends one request to the rpc endpoint of a member.
	Call(ctx context.Context, endpoint string, op rpc.Op, req rpc.Body, data [][]byte) (*rpc.Message, error)
	// Publish broadcasts a message; it may be lost.
	Publish(ctx context.Context, m pubsub.Message) error
}

// solo is the Network of a node with no peers.
type solo struct{ self registry.Member }

func (s solo) Self() registry.Member   { return s.self }
func (s solo) Live() []registry.Member { return []registry.Member{s.self} }
func (s solo) Call(ctx context.Context, ep string, op rpc.Op, req rpc.Body, data [][]byte) (*rpc.Message, error) {
	return nil, rpc.Errorf(rpc.ErrUnreachable, "no peers")
}
func (s solo) Publish(ctx context.Context, m pubsub.Message) error { return nil }
