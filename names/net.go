package names

import (
	"context"
	"fmt"
	"time"

	"github.com/emerge-dev/emerge/pubsub"
	"github.com/emerge-dev/emerge/rpc"
)

// Net is the Transport of a node: broadcasts on its bus, anti-entropy over
// rpc (name_digests, name_bucket), which Service.Register serves. The node
// and the virtual cluster of the tests both use it.
type Net struct {
	Bus    pubsub.Bus
	Caller rpc.Caller
	// Live returns the rpc endpoints of the live members, self excluded.
	Live func() []string
	// Timeout bounds one anti-entropy call (default 10 s).
	Timeout time.Duration
}

func (t Net) timeout() time.Duration {
	if t.Timeout > 0 {
		return t.Timeout
	}
	return 10 * time.Second
}

// Publish broadcasts entries as one name message.
func (t Net) Publish(ctx context.Context, entries []Entry) error {
	b, err := EncodeEntries(entries)
	if err != nil {
		return err
	}
	return t.Bus.Publish(ctx, pubsub.Message{Type: pubsub.TypeName, Payload: b})
}

// Peers returns Live().
func (t Net) Peers() []string { return t.Live() }

// Digests asks peer for its bucket digests.
func (t Net) Digests(ctx context.Context, peer string) ([]uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout())
	defer cancel()
	m, err := t.Caller.Call(ctx, peer, rpc.OpNameDigests, &rpc.Header{}, nil)
	if err != nil {
		return nil, err
	}
	var rep rpc.NameDigestsRep
	if err := m.Decode(&rep); err != nil {
		return nil, err
	}
	return rep.Digests, nil
}

// Pull asks peer for every entry of one bucket.
func (t Net) Pull(ctx context.Context, peer string, bucket int) ([]Entry, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout())
	defer cancel()
	m, err := t.Caller.Call(ctx, peer, rpc.OpNameBucket, &rpc.NameBucketReq{Bucket: bucket}, nil)
	if err != nil {
		return nil, err
	}
	if len(m.Data) != 1 {
		return nil, fmt.Errorf("%w: name bucket reply with %d data frames", rpc.ErrBadRequest, len(m.Data))
	}
	return DecodeEntries(m.Data[0])
}

// HandleMessage queues the entries of a name message heard on the bus
// (Offer); it reports whether m was one.
func (s *Service) HandleMessage(m pubsub.Message) bool {
	if m.Type != pubsub.TypeName {
		return false
	}
	entries, err := DecodeEntries(m.Payload)
	if err != nil {
		s.cfg.Logger.Debug().Err(err).Str("peer", m.From).Msg("names: bad broadcast")
		return true
	}
	if !s.Offer(entries) {
		s.cfg.Logger.Debug().Str("peer", m.From).Msg("names: broadcast dropped (queue full), anti-entropy will bring it")
	}
	return true
}

// Register serves the peer ops of anti-entropy on mux.
func (s *Service) Register(mux *rpc.Mux) {
	mux.Handle(rpc.OpNameDigests, s.serveDigests)
	mux.Handle(rpc.OpNameBucket, s.serveBucket)
}

func (s *Service) serveDigests(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	return &rpc.Reply{Body: &rpc.NameDigestsRep{Digests: s.ns.Digests()}}, nil
}

func (s *Service) serveBucket(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.NameBucketReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	if req.Bucket < 0 || req.Bucket >= NumBuckets {
		return nil, rpc.Errorf(rpc.ErrBadRequest, "bucket %d outside 0..%d", req.Bucket, NumBuckets-1)
	}
	b, err := EncodeEntries(s.ns.Bucket(req.Bucket))
	if err != nil {
		return nil, err
	}
	return &rpc.Reply{Body: &rpc.Header{}, Data: [][]byte{b}}, nil
}
