package node

import (
	"context"
	"errors"
	"fmt"

	"github.com/emerge-dev/emerge/names"
	"github.com/emerge-dev/emerge/registry"
	"github.com/emerge-dev/emerge/rpc"
	"github.com/zeebo/blake3"
)

// startNames opens the namespace on the store's meta records and starts
// its service: broadcasts on the bus, anti-entropy over the peer pool.
func (n *Node) startNames() error {
	ns, err := names.Open(names.Config{Node: n.id, Storage: n.store,
		Logger: n.log.With().Str("component", "names").Logger()})
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	n.ns = ns
	if err := n.startFollower(); err != nil { // names_follow.go
		return err
	}
	tr := names.Net{Bus: n.bus, Caller: n.peers, Live: n.liveEndpoints}
	n.names, err = names.NewService(names.ServiceConfig{Namespace: ns, Transport: tr,
		SyncInterval: n.cfg.NamesSyncInterval, OnNew: n.follow.newEntries, KeepVersions: n.cfg.NamesKeepVersions, KeepFor: n.cfg.NamesKeepFor,
		Logger: n.log.With().Str("component", "names").Logger()})
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	n.names.Start()
	scan := n.cfg.NamesSyncInterval
	if scan <= 0 {
		scan = names.DefaultSyncInterval
	}
	n.free = newFreer(n, n.cfg.NamesFreeGrace, scan) // names_free.go
	n.free.start()
	return nil
}

func (n *Node) stopNames() {
	if n.free != nil {
		n.free.close()
	}
	if n.names != nil {
		n.names.Close()
	}
	if n.follow != nil {
		n.follow.close()
	}
	if n.ns != nil {
		n.ns.Close()
	}
}

// Names is the node's namespace service (for tests, tools and the gateway).
func (n *Node) Names() *names.Service { return n.names }

// liveEndpoints are the rpc endpoints of the other live members.
func (n *Node) liveEndpoints() []string {
	var out []string
	for _, m := range n.members.Registry().Live() {
		if m.ID != n.id && m.RPC != "" {
			out = append(out, m.RPC)
		}
	}
	return out
}

// nameOwner is the live member that decides compare-and-sets of path: the
// first in the rendezvous ranking of the path's hash over the live members
// (this node when alone).
func (n *Node) nameOwner(path string) registry.Member {
	live := n.members.Registry().Live()
	if ranked := registry.Rank(blake3.Sum256([]byte(path)), live); len(ranked) > 0 {
		return ranked[0]
	}
	return n.members.Registry().Self()
}

// forwardBind passes a compare-and-set to the path's owner, which decides
// it; the entry reaches this node by broadcast. An owner that cannot be
// reached makes the bind unavailable: deciding here instead could let two
// nodes accept the same version.
func (n *Node) forwardBind(ctx context.Context, owner registry.Member, req rpc.NameBindReq) (*rpc.Reply, error) {
	fwd := req
	fwd.Header = rpc.Header{}
	fwd.Forwarded = true
	m, err := n.peers.Call(ctx, owner.RPC, rpc.OpNameBind, &fwd, nil)
	if errors.Is(err, rpc.ErrUnreachable) {
		return nil, rpc.Errorf(rpc.ErrUnavailable, "the owner of %s (%s) decides its compare-and-set and does not answer", req.Path, owner.ID)
	}
	if err != nil {
		return nil, err
	}
	var rep rpc.NameEntryRep
	if err := m.Decode(&rep); err != nil {
		return nil, err
	}
	rep.Header = rpc.Header{}
	return &rpc.Reply{Body: &rep}, nil
}
