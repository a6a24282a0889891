package node

import (
	"context"

	"github.com/emerge-dev/emerge/pubsub"
	"github.com/emerge-dev/emerge/registry"
	"github.com/emerge-dev/emerge/rpc"
)

// network gives the object service the peer layer: the registry, the
// connection pool and the bus.
type network struct{ c *cluster }

func (w network) Self() registry.Member   { return w.c.reg.Self() }
func (w network) Live() []registry.Member { return w.c.reg.Live() }

func (w network) Call(ctx context.Context, endpoint string, op rpc.Op, req rpc.Body, data [][]byte) (*rpc.Message, error) {
	return w.c.peers.call(ctx, endpoint, op, req, data)
}

func (w network) Publish(ctx context.Context, m pubsub.Message) error { return w.c.bus.Publish(ctx, m) }

// onMessage hands bus messages that are not about membership to the object
// service.
func (n *Node) onMessage(m pubsub.Message) {
	switch m.Type {
	case pubsub.TypeWhoHas:
		n.files.HandleWhoHas(m)
	case pubsub.TypeDelete:
		n.files.HandleDelete(m)
	case pubsub.TypeHave:
		n.files.HandleHave(m)
	case pubsub.TypePrefetch:
		n.files.HandlePrefetch(m)
	}
}
