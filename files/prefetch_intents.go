package files

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/registry"
	"github.com/emerge-dev/emerge/rpc"
	"github.com/vmihailenco/msgpack/v5"
)

// Intents on the wire, in the store, and pulled from members.

// list returns the known intents, as on the wire.
func (p *prefetcher) list() []rpc.PrefetchIntent {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]rpc.PrefetchIntent, 0, len(p.intents))
	for _, in := range p.intents {
		out = append(out, toWireIntent(in))
	}
	slices.SortFunc(out, func(a, b rpc.PrefetchIntent) int { return int(a.At - b.At) })
	return out
}

func toWireIntent(in *intent) rpc.PrefetchIntent {
	return rpc.PrefetchIntent{Ref: in.ref[:], From: in.from, Groups: in.groups, Nodes: in.nodes, At: in.at.UnixNano()}
}

func fromWireIntent(w rpc.PrefetchIntent) (*intent, error) {
	ref, err := rpc.ParseRef(w.Ref)
	if err != nil {
		return nil, err
	}
	if w.From == "" || len(w.Groups)+len(w.Nodes) == 0 {
		return nil, fmt.Errorf("%w: prefetch intent without source or targets", rpc.ErrBadRequest)
	}
	return &intent{ref: ref, from: w.From, groups: normalize(w.Groups), nodes: normalize(w.Nodes),
		at: time.Unix(0, w.At)}, nil
}

// Intents lists the prefetch intents this node knows (OpPrefetchList).
func (s *Service) Intents() []rpc.PrefetchIntent { return s.pf.list() }

// pullIntents merges the intents member knows: called when a member joins
// or comes back, after the tombstone catch-up, so deleted objects stay out.
func (s *Service) pullIntents(ctx context.Context, member registry.Member) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	msg, err := s.net.Call(ctx, member.RPC, rpc.OpPrefetchList, &rpc.Header{}, nil)
	if err != nil {
		s.log.Debug().Err(err).Str("peer", member.ID).Msg("prefetch intents pull")
		return
	}
	var rep rpc.PrefetchIntentsRep
	if err := msg.Decode(&rep); err != nil {
		return
	}
	for _, w := range rep.Intents {
		if in, err := fromWireIntent(w); err == nil {
			s.pf.add(in, false)
		}
	}
}

func (p *prefetcher) save() {
	b, err := msgpack.Marshal(p.list())
	if err == nil {
		err = p.s.store.PutMeta(intentsKey, b)
	}
	if err != nil && !errors.Is(err, blocks.ErrClosed) {
		p.s.log.Warn().Err(err).Msg("persist prefetch intents")
	}
}

func (p *prefetcher) load() {
	b, err := p.s.store.GetMeta(intentsKey)
	if err != nil {
		return
	}
	var list rpc.PrefetchIntentList
	if err := msgpack.Unmarshal(b, &list); err != nil {
		p.s.log.Warn().Err(err).Msg("persisted prefetch intents unreadable")
		return
	}
	for _, w := range list {
		if in, err := fromWireIntent(w); err == nil {
			p.intents[in.ref] = in
		}
	}
}
