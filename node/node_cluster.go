package node

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/emerge-dev/emerge/pubsub"
	"github.com/emerge-dev/emerge/registry"
)

// startCluster binds the bus and builds the membership component.
func (n *Node) startCluster(ctx context.Context) error {
	bus, err := n.newBus()
	if err != nil {
		return fmt.Errorf("node: bus: %w", err)
	}
	n.peers = newPeerPool(n.zctx, n.sec.client, n.log.With().Str("component", "peers").Logger())
	self := registry.Member{ID: n.id, Host: n.host, Groups: n.startGroups(), Incarnation: 1,
		RPC: advertise(n.server.Endpoint(), n.cfg.AdvertiseHost), Pub: advertise(bus.Endpoint(), n.cfg.AdvertiseHost)}
	n.cluster, err = newCluster(n.cfg, self, bus, n.peers, n.store, n.log.With().Str("component", "cluster").Logger())
	if err != nil {
		bus.Close()
		return err
	}
	return nil
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
