package files

import (
	"context"

	"github.com/emerge-dev/emerge/pubsub"
	"github.com/emerge-dev/emerge/registry"
	"github.com/emerge-dev/emerge/rpc"
)

// Network is what object operations need from the node's peer layer: the
// live members, calls to a member's rpc endpoint, and the broadcast bus.
// NewNetwork makes one from a node's registry, connections and bus; the
// virtual network of the tests makes the same from its own transports.
type Network interface {
	// Self is this node's own member record.
	Self() registry.Member
	// Live returns the members taking part in placement, self included.
	Live() []registry.Member
	// Alive reports whether a member is live and not suspect: transfers in
	// flight to a member that is not are moved to another one at once.
	Alive(id string) bool
	// Call sends one request to the rpc endpoint of a member.
	Call(ctx context.Context, endpoint string, op rpc.Op, req rpc.Body, data [][]byte) (*rpc.Message, error)
	// Publish broadcasts a message; it may be lost.
	Publish(ctx context.Context, m pubsub.Message) error
}

// NewNetwork is the Network of a node: its member table, its calls to the
// other members and its bus.
func NewNetwork(reg *registry.Registry, caller rpc.Caller, bus pubsub.Bus) Network {
	return network{reg: reg, caller: caller, bus: bus}
}

type network struct {
	reg    *registry.Registry
	caller rpc.Caller
	bus    pubsub.Bus
}

func (n network) Self() registry.Member   { return n.reg.Self() }
func (n network) Live() []registry.Member { return n.reg.Live() }

func (n network) Alive(id string) bool {
	st, ok := n.reg.Get(id)
	return ok && st.State == registry.StateAlive
}

func (n network) Call(ctx context.Context, ep string, op rpc.Op, req rpc.Body, data [][]byte) (*rpc.Message, error) {
	return n.caller.Call(ctx, ep, op, req, data)
}

func (n network) Publish(ctx context.Context, m pubsub.Message) error { return n.bus.Publish(ctx, m) }

// solo is the Network of a node with no peers.
type solo struct{ self registry.Member }

func (s solo) Self() registry.Member   { return s.self }
func (s solo) Live() []registry.Member { return []registry.Member{s.self} }
func (s solo) Alive(id string) bool    { return id == s.self.ID }
func (s solo) Call(ctx context.Context, ep string, op rpc.Op, req rpc.Body, data [][]byte) (*rpc.Message, error) {
	return nil, rpc.Errorf(rpc.ErrUnreachable, "no peers")
}
func (s solo) Publish(ctx context.Context, m pubsub.Message) error { return nil }
