package files

import (
	"context"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/registry"
	"github.com/emerge-dev/emerge/rpc"
)

// serveRelease drops the copies pushed here under a pending key: the put
// they belonged to was aborted.
func (s *Service) serveRelease(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.ReleaseReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	key, err := rpc.ParseRef(req.Key)
	if err != nil {
		return nil, err
	}
	ids, err := req.IDs.Unpack()
	if err != nil {
		return nil, err
	}
	freed, err := s.store.DropUses(key, ids)
	if err != nil {
		return nil, err
	}
	return &rpc.Reply{Body: &rpc.DeleteRep{Freed: freed}}, nil
}

// Holders runs a census of ref's blocks over the live members.
func (s *Service) Holders(ctx context.Context, ref blocks.Ref) (*rpc.HoldersRep, error) {
	m, err := s.Manifest(ctx, ref)
	if err != nil {
		return nil, err
	}
	ids := distinctIDs(m.Blocks)
	c := s.takeCensus(ctx, ids)
	rep := &rpc.HoldersRep{Ref: ref[:], Replicas: m.Replicas, Silent: c.silent}
	for _, id := range m.Blocks {
		rep.Blocks = append(rep.Blocks, rpc.BlockHolder{ID: id[:], Owners: byRank(id, c.owners[id]),
			Caches: c.caches[id]})
	}
	return rep, nil
}

func (s *Service) serveHolders(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.RefReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	ref, err := rpc.ParseRef(req.Ref)
	if err != nil {
		return nil, err
	}
	rep, err := s.Holders(ctx, ref)
	if err != nil {
		return nil, err
	}
	return &rpc.Reply{Body: rep}, nil
}

// Health reports this node's repair and scrub state.
func (s *Service) Health() *rpc.HealthRep {
	h := s.heal
	h.mu.Lock()
	last, pol := h.last, h.pol
	h.mu.Unlock()
	rep := &rpc.HealthRep{Node: s.net.Self().ID, ObjectsUnder: last.objectsUnder, BlocksUnder: last.under,
		BlocksOver: last.over, PassDeferred: last.deferred, RepairedCopies: h.repaired.Load(),
		RepairedBytes: h.repairedBytes.Load(), TrimmedCopies: h.trimmed.Load(), Corrupt: s.store.QuarantinedCount()}
	if !last.at.IsZero() {
		rep.LastPass = last.at.UnixNano()
	}
	if pol != nil {
		rep.RepairQueue = pol.queue()
	}
	s.scrub.report(rep)
	return rep
}

func (s *Service) serveHealth(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	return &rpc.Reply{Body: s.Health()}, nil
}

// RepairStats are counters of the repairs this node made, for tests.
type RepairStats struct {
	Copies, Bytes, Trimmed int64
	MaxInflight            int // most pushes in flight at once
}

// RepairStats returns the counters.
func (s *Service) RepairStats() RepairStats {
	h := s.heal
	h.mu.Lock()
	defer h.mu.Unlock()
	return RepairStats{Copies: h.repaired.Load(), Bytes: h.repairedBytes.Load(), Trimmed: h.trimmed.Load(),
		MaxInflight: h.maxInflight}
}

// RepairNow runs a repair pass within d (tests, and an operator's nudge).
func (s *Service) RepairNow(d time.Duration) { s.heal.soon(d) }

// MemberEvent reacts to a change of another member: a member that joins
// or comes back is caught up with (deletes, prefetch intents) and may take
// copies of blocks under target; the copies of one gone are made again
// after the repair delay.
func (s *Service) MemberEvent(e registry.Event) {
	switch e.Kind {
	case registry.EventJoin, registry.EventRejoin:
		s.CatchUpLater(e.Member)
	}
	s.heal.memberEvent(e)
}

// Quarantined is told of a copy the store took out for failing its hash:
// the holders of the block hear of it at the next pass (within a second).
func (s *Service) Quarantined(id blocks.ID) { s.heal.quarantined(id) }

func distinctIDs(ids []blocks.ID) []blocks.ID {
	seen := make(map[blocks.ID]bool, len(ids))
	var out []blocks.ID
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
