package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emerge-dev/emerge/names"
	"github.com/emerge-dev/emerge/pubsub"
	"github.com/emerge-dev/emerge/registry"
	"github.com/emerge-dev/emerge/rpc"
	"github.com/zeebo/blake3"
)

// namesCallTimeout bounds one anti-entropy call to a peer.
const namesCallTimeout = 10 * time.Second

// startNames opens the namespace on the store's meta records and starts
// its service: broadcasts on the bus, anti-entropy over the peer pool.
func (n *Node) startNames() error {
	ns, err := names.Open(names.Config{Node: n.id, Storage: n.store,
		Logger: n.log.With().Str("component", "names").Logger()})
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	n.ns = ns
	n.names, err = names.NewService(names.ServiceConfig{Namespace: ns, Transport: namesTransport{n},
		SyncInterval: n.cfg.NamesSyncInterval, Logger: n.log.With().Str("component", "names").Logger()})
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	n.names.Start()
	return nil
}

func (n *Node) stopNames() {
	if n.names != nil {
		n.names.Close()
	}
	if n.ns != nil {
		n.ns.Close()
	}
}

// Names is the node's namespace service (for tests, tools and the gateway).
func (n *Node) Names() *names.Service { return n.names }

// handleNameMessage queues entries broadcast by another node.
func (n *Node) handleNameMessage(m pubsub.Message) {
	entries, err := names.DecodeEntries(m.Payload)
	if err != nil {
		n.log.Debug().Err(err).Str("peer", m.From).Msg("names: bad broadcast")
		return
	}
	if !n.names.Offer(entries) {
		n.log.Debug().Str("peer", m.From).Msg("names: broadcast dropped (queue full), anti-entropy will bring it")
	}
}

// namesTransport is the names service's view of the network.
type namesTransport struct{ n *Node }

func (t namesTransport) Publish(ctx context.Context, entries []names.Entry) error {
	b, err := names.EncodeEntries(entries)
	if err != nil {
		return err
	}
	return t.n.bus.Publish(ctx, pubsub.Message{Type: pubsub.TypeName, Payload: b})
}

func (t namesTransport) Peers() []string {
	var out []string
	for _, m := range t.n.members.Registry().Live() {
		if m.ID != t.n.id && m.RPC != "" {
			out = append(out, m.RPC)
		}
	}
	return out
}

func (t namesTransport) Digests(ctx context.Context, peer string) ([]uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, namesCallTimeout)
	defer cancel()
	m, err := t.n.peers.Call(ctx, peer, rpc.OpNameDigests, &rpc.Header{}, nil)
	if err != nil {
		return nil, err
	}
	var rep rpc.NameDigestsRep
	if err := m.Decode(&rep); err != nil {
		return nil, err
	}
	return rep.Digests, nil
}

func (t namesTransport) Pull(ctx context.Context, peer string, bucket int) ([]names.Entry, error) {
	ctx, cancel := context.WithTimeout(ctx, namesCallTimeout)
	defer cancel()
	m, err := t.n.peers.Call(ctx, peer, rpc.OpNameBucket, &rpc.NameBucketReq{Bucket: bucket}, nil)
	if err != nil {
		return nil, err
	}
	if len(m.Data) != 1 {
		return nil, fmt.Errorf("%w: name bucket reply with %d data frames", rpc.ErrBadRequest, len(m.Data))
	}
	return names.DecodeEntries(m.Data[0])
}

// Peer ops.

func (n *Node) nameDigests(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	return &rpc.Reply{Body: &rpc.NameDigestsRep{Digests: n.ns.Digests()}}, nil
}

func (n *Node) nameBucket(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.NameBucketReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	if req.Bucket < 0 || req.Bucket >= names.NumBuckets {
		return nil, rpc.Errorf(rpc.ErrBadRequest, "bucket %d outside 0..%d", req.Bucket, names.NumBuckets-1)
	}
	b, err := names.EncodeEntries(n.ns.Bucket(req.Bucket))
	if err != nil {
		return nil, err
	}
	return &rpc.Reply{Body: &rpc.Header{}, Data: [][]byte{b}}, nil
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
