package node

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/emerge-dev/emerge/pubsub"
	"github.com/emerge-dev/emerge/registry"
	"github.com/emerge-dev/emerge/registry/membership"
)

// startCluster binds the bus and builds the membership service. Bus
// messages and membership events go to the object service, set up after.
func (n *Node) startCluster(ctx context.Context) error {
	bus, err := n.newBus()
	if err != nil {
		return fmt.Errorf("node: bus: %w", err)
	}
	n.bus = bus
	n.peers = newPeerPool(n.zctx, n.sec.client, n.log.With().Str("component", "peers").Logger())
	self := registry.Member{ID: n.id, Host: n.host, Groups: n.startGroups(), Incarnation: 1,
		RPC: advertise(n.server.Endpoint(), n.cfg.AdvertiseHost), Pub: advertise(bus.Endpoint(), n.cfg.AdvertiseHost)}
	n.members, err = membership.New(membership.Config{Self: self, Heartbeat: n.cfg.Heartbeat,
		SuspectAfter: n.cfg.SuspectAfter, DeadAfter: n.cfg.DeadAfter, Seeds: n.cfg.Peers, Bus: bus, Caller: n.peers,
		Meta: n.store, OnMessage: n.onMessage, OnEvent: n.onMemberEvent,
		Logger: n.log.With().Str("component", "cluster").Logger()})
	return err
}

// onMessage hands bus messages that are not about membership to the object
// service. Membership runs its goroutines from Start, when the service
// exists.
func (n *Node) onMessage(m pubsub.Message) {
	if n.names.HandleMessage(m) {
		return
	}
	n.files.HandleMessage(m)
}

// onMemberEvent catches up with a member that joins or comes back, and
// drops the connection to one removed.
func (n *Node) onMemberEvent(e registry.Event) {
	n.files.MemberEvent(e)
	if e.Kind == registry.EventRemove {
		n.peers.drop(e.Member.RPC)
	}
}

func (n *Node) newBus() (pubsub.Bus, error) {
	if n.cfg.Bus != nil {
		return n.cfg.Bus(n.id)
	}
	return pubsub.NewZMQ(pubsub.Config{Context: n.zctx, NodeID: n.id, Listen: n.cfg.PubListen,
		Logger: n.log.With().Str("component", "bus").Logger(), CurveServer: n.sec.server, CurveClient: n.sec.client})
}

// advertise turns a bound endpoint into one other machines can reach: the
// host is replaced by host when set, or by the hostname when the socket is
// bound to all interfaces.
func advertise(bound, host string) string {
	rest, ok := strings.CutPrefix(bound, "tcp://")
	if !ok {
		return bound
	}
	h, port, err := net.SplitHostPort(rest)
	if err != nil {
		return bound
	}
	if host == "" && (h == "0.0.0.0" || h == "::" || h == "*" || h == "") {
		host, _ = os.Hostname()
	}
	if host == "" {
		return bound
	}
	return "tcp://" + net.JoinHostPort(host, port)
}
