package files

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/blocks/store"
	"github.com/emerge-dev/emerge/registry"
	"github.com/emerge-dev/emerge/rpc"
)

// TombstoneWindow is how far back a node catching up asks for deletes: the
// store's tombstone TTL.
const TombstoneWindow = store.DefaultTombstoneTTL

// TombstonesPage returns up to rpc.MaxIDs deletes made after since, oldest
// first, and whether more follow.
func (s *Service) TombstonesPage(since time.Time) ([]store.Tombstone, bool, error) {
	all, err := s.store.Tombstones(since)
	if err != nil {
		return nil, false, err
	}
	slices.SortFunc(all, func(a, b store.Tombstone) int { return a.At.Compare(b.At) })
	if len(all) > rpc.MaxIDs {
		return all[:rpc.MaxIDs], true, nil
	}
	return all, false, nil
}

// CatchUp applies the deletes member made or heard of while this node was
// away (or it was): called when a member joins or comes back, and at start.
func (s *Service) CatchUp(ctx context.Context, member registry.Member) error {
	since := s.cfg.Now().Add(-TombstoneWindow)
	for pages := 0; pages < 100; pages++ {
		rep, err := s.tombstonesFrom(ctx, member, since)
		if err != nil {
			return err
		}
		refs, err := rep.Refs.Unpack()
		if err != nil || len(refs) != len(rep.At) {
			return fmt.Errorf("%w: tombstone page from %s", rpc.ErrBadRequest, member.ID)
		}
		for i, ref := range refs {
			at := time.Unix(0, rep.At[i])
			if _, err := s.Forget(blocks.Ref(ref), at); err == nil {
				s.log.Info().Str("ref", ref.Short()).Str("from", member.ID).Msg("applied a delete missed while away")
			}
			since = at
		}
		if !rep.More {
			return nil
		}
	}
	return nil
}

func (s *Service) tombstonesFrom(ctx context.Context, m registry.Member, since time.Time) (*rpc.TombstonesRep, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	msg, err := s.net.Call(ctx, m.RPC, rpc.OpTombstones, &rpc.TombstonesReq{Since: since.UnixNano()}, nil)
	if err != nil {
		return nil, err
	}
	var rep rpc.TombstonesRep
	if err := msg.Decode(&rep); err != nil {
		return nil, err
	}
	return &rep, nil
}

// CatchUpLater runs CatchUp in the background, then pulls the member's
// prefetch intents.
func (s *Service) CatchUpLater(member registry.Member) {
	s.goBG(func() {
		if err := s.CatchUp(s.ctx, member); err != nil {
			s.log.Debug().Err(err).Str("peer", member.ID).Msg("tombstone catch-up")
		}
		s.pullIntents(s.ctx, member) // after the deletes, so deleted objects stay out
	})
}
