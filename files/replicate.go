package files

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/files/mover"
	"github.com/emerge-dev/emerge/registry"
	"github.com/emerge-dev/emerge/rpc"
)

// pushTimeout bounds one block push to a placement owner.
const pushTimeout = 30 * time.Second

// checkMembers fails with ErrUnavailable when fewer than n members are live.
func (s *Service) checkMembers(n int) error {
	live := s.net.Live()
	if len(live) >= n {
		return nil
	}
	ids := make([]string, len(live))
	for i, m := range live {
		ids[i] = m.ID
	}
	return fmt.Errorf("%w: %d durable copies needed (min_replicas) but only %d member(s) alive (%s)", rpc.ErrUnavailable, n, len(live),
		strings.Join(ids, ", "))
}

// replicate makes up to n durable copies of a block this node has stored:
// this node's own copy (the node that takes a put commits it as an owner
// copy whatever the ranking) and n-1 more at the top-ranked other live
// members by rendezvous hash, moving down the ranking past members that
// fail or stop being alive (the mover with the push policy). So a put
// sends n-1 copies out of this node, not about n (docs/architecture.md,
// Placement). It fails only when fewer than least copies could be made;
// the copies between least and n are left to repair. Members in prefer (a
// put's prefetch targets) are ranked before the others, so that a replica
// is also a target's copy. It returns the other members that acknowledged
// the block.
func (s *Service) replicate(ctx context.Context, key blocks.Ref, id blocks.ID, data []byte, n, least int,
	prefer map[string]bool) ([]string, error) {
	if err := s.checkMembers(least); err != nil {
		return nil, err
	}
	if n <= 1 {
		return nil, nil
	}
	p := newPushPolicy(s.net.Self().ID, preferred(registry.Rank(id, s.net.Live()), prefer))
	push := func(ctx context.Context, peer string, id blocks.ID) error {
		return p.record(peer, s.push(ctx, key, id, data, p.members[peer]))
	}
	mv, err := mover.New(mover.Config{Policy: p, Transfer: push, Alive: s.net.Alive, Timeout: pushTimeout,
		SkipStuck: true, Logger: s.log}, []mover.Item{{ID: id, Size: int64(len(data)), Copies: n - 1}})
	if err != nil {
		return nil, err
	}
	if err := mv.Run(ctx); err != nil {
		return nil, err
	}
	have := 1 + len(p.holders)
	if have < least {
		return p.holders, fmt.Errorf("%w: block %s: %d of %d replicas stored, at least %d needed: %w", rpc.ErrUnavailable,
			id.Short(), have, n, least, p.failures())
	}
	if have < n {
		s.log.Debug().Str("block", id.Short()).Int("copies", have).Int("target", n).Err(p.failures()).
			Msg("block stored under its target; repair makes the rest")
	}
	return p.holders, nil
}

// preferred moves the members in prefer to the front of ranked, keeping
// the order within each part.
func preferred(ranked []registry.Member, prefer map[string]bool) []registry.Member {
	if len(prefer) == 0 {
		return ranked
	}
	out := make([]registry.Member, 0, len(ranked))
	for _, first := range []bool{true, false} {
		for _, m := range ranked {
			if prefer[m.ID] == first {
				out = append(out, m)
			}
		}
	}
	return out
}

// pushPolicy places copies of one block down the rendezvous ranking: each
// member is its own tier, so a copy goes to the best-ranked member that has
// not failed or taken a copy.
type pushPolicy struct {
	ranked  []mover.Candidate
	members map[string]registry.Member
	holders []string

	mu   sync.Mutex // failures are recorded on the transfer goroutines
	errs []error
}

func newPushPolicy(self string, ranked []registry.Member) *pushPolicy {
	p := &pushPolicy{members: map[string]registry.Member{}}
	for _, m := range ranked {
		if m.ID != self {
			p.ranked = append(p.ranked, mover.Candidate{Peer: m.ID, Tier: len(p.ranked)})
			p.members[m.ID] = m
		}
	}
	return p
}

func (p *pushPolicy) Candidates(blocks.ID) []mover.Candidate { return p.ranked }
func (p *pushPolicy) Window(int) int                         { return 1 << 10 }
func (p *pushPolicy) Ready(blocks.ID) bool                   { return true }
func (p *pushPolicy) Landed(_ blocks.ID, peer string)        { p.holders = append(p.holders, peer) }

func (p *pushPolicy) record(peer string, err error) error {
	if err != nil {
		p.mu.Lock()
		p.errs = append(p.errs, fmt.Errorf("%s: %w", peer, err))
		p.mu.Unlock()
	}
	return err
}

func (p *pushPolicy) failures() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return errors.Join(p.errs...)
}

func (s *Service) push(ctx context.Context, key blocks.Ref, id blocks.ID, data []byte, m registry.Member) error {
	return s.pushAs(ctx, key, id, data, m, false)
}

// pushAs is push, marked as a repair copy or not.
func (s *Service) pushAs(ctx context.Context, key blocks.Ref, id blocks.ID, data []byte, m registry.Member, repair bool) error {
	ctx, cancel := context.WithTimeout(ctx, pushTimeout)
	defer cancel()
	req := &rpc.PutBlocksReq{Key: key[:], IDs: rpc.PackIDs([]blocks.ID{id}), Repair: repair}
	_, err := s.net.Call(ctx, m.RPC, rpc.OpPutBlocks, req, [][]byte{data})
	if err == nil {
		s.cfg.Metrics.PeerSent(len(data))
	}
	return err
}

// publishManifest commits the manifest at every member holding blocks of
// the object (moving their blocks from the pending key to the ref) and at
// the ref's own placement owners, so that any node finds it where placement
// says; members in kept (the put's prefetch targets) hold their copies as
// kept ones. It returns the block holders that did not take it (their copies do
// not count: the put is under target, or fails below min_replicas); the
// ref's other owners are best effort. A member that stops being alive is
// given up within a second.
func (s *Service) publishManifest(ctx context.Context, ref blocks.Ref, m *blocks.Manifest, pending blocks.Ref,
	holders, kept map[string]bool) (map[string]error, error) {
	rec, err := m.MarshalRecord()
	if err != nil {
		return nil, err
	}
	self := s.net.Self().ID
	targets := map[string]registry.Member{}
	for _, mem := range s.net.Live() {
		if mem.ID != self && holders[mem.ID] {
			targets[mem.ID] = mem
		}
	}
	for _, mem := range registry.Place(ref, s.net.Live(), m.Replicas) {
		if mem.ID != self {
			targets[mem.ID] = mem
		}
	}
	failed := map[string]error{}
	for h := range holders {
		if _, ok := targets[h]; !ok {
			failed[h] = fmt.Errorf("%w: member %s is no longer live", rpc.ErrUnreachable, h)
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, mem := range targets {
		wg.Add(1)
		go func(mem registry.Member) {
			defer wg.Done()
			req := &rpc.PutManifestReq{Ref: ref[:], Pending: pending[:], Kept: kept[mem.ID]}
			_, err := s.callAlive(ctx, mem, pushTimeout, rpc.OpPutManifest, req, [][]byte{rec})
			if err != nil && holders[mem.ID] {
				mu.Lock()
				failed[mem.ID] = err
				mu.Unlock()
			}
		}(mem)
	}
	wg.Wait()
	return failed, ctx.Err()
}

func newPendingKey() blocks.Ref {
	var k blocks.Ref
	rand.Read(k[:])
	return k
}
