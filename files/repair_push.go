package files

import (
	"context"
	"fmt"
	"sync"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/files/mover"
	"github.com/emerge-dev/emerge/registry"
	"github.com/emerge-dev/emerge/rpc"
)

// repairPolicy is the mover's policy for repair: each block goes to the
// live members that answered the census without an owner copy, best
// rendezvous rank first (each its own tier, so copies land where placement
// would put them), at most repairWindow at a time to one member. The push
// sends the object's manifest to a member once, then the block under the
// object's ref.
type repairPolicy struct {
	h     *healer
	here  map[blocks.ID]owned
	cands map[blocks.ID][]mover.Candidate

	mu     sync.Mutex // the fields below are used by the push goroutines
	sent   map[sentKey]bool
	queued int // copies not landed yet
}

type sentKey struct {
	ref  blocks.Ref
	peer string
}

// repairWindow is how many copies one node pushes to one member at once.
const repairWindow = 2

func newRepairPolicy(h *healer, here map[blocks.ID]owned) *repairPolicy {
	return &repairPolicy{h: h, here: here, cands: map[blocks.ID][]mover.Candidate{}, sent: map[sentKey]bool{}}
}

// plan records where block id may go: members that answered the census
// and hold no owner copy, by rank.
func (p *repairPolicy) plan(id blocks.ID, c *census, holders []string) {
	var others []string
	for _, m := range c.asked {
		if !containsStr(holders, m) {
			others = append(others, m)
		}
	}
	for i, m := range byRank(id, others) {
		p.cands[id] = append(p.cands[id], mover.Candidate{Peer: m, Tier: i})
	}
	p.queued += max(p.here[id].target-len(holders), 0)
}

func (p *repairPolicy) Candidates(id blocks.ID) []mover.Candidate { return p.cands[id] }
func (p *repairPolicy) Window(int) int                            { return repairWindow }
func (p *repairPolicy) Ready(blocks.ID) bool                      { return true }

func (p *repairPolicy) Landed(id blocks.ID, peer string) {
	p.h.repaired.Add(1)
	p.h.repairedBytes.Add(p.here[id].size)
	p.mu.Lock()
	p.queued--
	p.mu.Unlock()
	p.h.s.log.Debug().Str("block", id.Short()).Str("peer", peer).Msg("repaired a copy")
}

func (p *repairPolicy) Abandoned(id blocks.ID, landed int, err error) {
	p.h.s.cfg.Metrics.RepairFailed()
	p.h.s.log.Warn().Str("block", id.Short()).Int("copies_made", landed).Err(err).
		Msg("repair gave up on a block: no member could take it")
}

func (p *repairPolicy) queue() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return max(p.queued, 0)
}

// push makes one copy of id at peer.
func (p *repairPolicy) push(ctx context.Context, peer string, id blocks.ID) error {
	s := p.h.s
	ob := p.here[id]
	mem, ok := s.member(peer)
	if !ok {
		return fmt.Errorf("%w: member %s is not live", rpc.ErrUnreachable, peer)
	}
	if err := p.sendManifest(ctx, ob.ref, mem); err != nil {
		return err
	}
	buf := s.pool.Get(int(ob.size))
	defer s.pool.Put(buf)
	data, err := s.store.GetBlock(id, buf) // verified: a bad copy is never pushed
	if err != nil {
		return err
	}
	return s.pushAs(ctx, ob.ref, id, data, mem, true)
}

// sendManifest commits the object's manifest at mem once per repair, so the
// block pushed next is kept as an owner copy of the object. A member that
// has a newer tombstone refuses it (deleted): nothing deleted is repaired
// back.
func (p *repairPolicy) sendManifest(ctx context.Context, ref blocks.Ref, mem registry.Member) error {
	k := sentKey{ref, mem.ID}
	p.mu.Lock()
	done := p.sent[k]
	p.mu.Unlock()
	if done {
		return nil
	}
	rec, err := p.h.s.ManifestRecord(ref)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, pushTimeout)
	defer cancel()
	if _, err := p.h.s.net.Call(cctx, mem.RPC, rpc.OpPutManifest, &rpc.PutManifestReq{Ref: ref[:]}, [][]byte{rec}); err != nil {
		return err
	}
	p.mu.Lock()
	p.sent[k] = true
	p.mu.Unlock()
	return nil
}

func containsStr(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
