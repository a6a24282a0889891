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
// fail. So a put sends n-1 copies out of this node, not about n
// (docs/architecture.md, Placement). It fails only when fewer than least
// copies could be made; the copies between least and n are left to repair.
// It returns the other members that acknowledged the block.
func (s *Service) replicate(ctx context.Context, key blocks.Ref, id blocks.ID, data []byte, n, least int) ([]string, error) {
	if err := s.checkMembers(least); err != nil {
		return nil, err
	}
	self := s.net.Self().ID
	ranked := registry.Rank(id, s.net.Live())
	var holders []string
	var errs []error
	have, next := 1, 0 // this node's copy
	for have < n && next < len(ranked) {
		var batch []registry.Member
		for have+len(batch) < n && next < len(ranked) {
			m := ranked[next]
			next++
			if m.ID != self {
				batch = append(batch, m)
			}
		}
		ok, failed := s.pushAll(ctx, key, id, data, batch)
		holders, have, errs = append(holders, ok...), have+len(ok), append(errs, failed...)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	if have < least {
		return holders, fmt.Errorf("%w: block %s: %d of %d replicas stored, at least %d needed: %w", rpc.ErrUnavailable,
			id.Short(), have, n, least, errors.Join(errs...))
	}
	if have < n {
		s.log.Debug().Str("block", id.Short()).Int("copies", have).Int("target", n).Err(errors.Join(errs...)).
			Msg("block stored under its target; repair makes the rest")
	}
	return holders, nil
}

// pushAll pushes one block to several members at once and returns those
// that stored it and the errors of the others.
func (s *Service) pushAll(ctx context.Context, key blocks.Ref, id blocks.ID, data []byte, to []registry.Member) ([]string, []error) {
	var mu sync.Mutex
	var ok []string
	var errs []error
	var wg sync.WaitGroup
	for _, m := range to {
		wg.Add(1)
		go func(m registry.Member) {
			defer wg.Done()
			err := s.push(ctx, key, id, data, m)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", m.ID, err))
				return
			}
			ok = append(ok, m.ID)
		}(m)
	}
	wg.Wait()
	return ok, errs
}

func (s *Service) push(ctx context.Context, key blocks.Ref, id blocks.ID, data []byte, m registry.Member) error {
	ctx, cancel := context.WithTimeout(ctx, pushTimeout)
	defer cancel()
	req := &rpc.PutBlocksReq{Key: key[:], IDs: rpc.PackIDs([]blocks.ID{id})}
	_, err := s.net.Call(ctx, m.RPC, rpc.OpPutBlocks, req, [][]byte{data})
	return err
}

// publishManifest commits the manifest at every member holding blocks of
// the object (moving their blocks from the pending key to the ref) and at
// the ref's own placement owners, so that any node finds it where placement
// says. A block holder that cannot take it fails the put; the ref's other
// owners are best effort.
func (s *Service) publishManifest(ctx context.Context, ref blocks.Ref, m *blocks.Manifest, pending blocks.Ref, holders map[string]bool) error {
	rec, err := m.MarshalRecord()
	if err != nil {
		return err
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
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, mem := range targets {
		wg.Add(1)
		go func(mem registry.Member) {
			defer wg.Done()
			req := &rpc.PutManifestReq{Ref: ref[:], Pending: pending[:]}
			cctx, cancel := context.WithTimeout(ctx, pushTimeout)
			defer cancel()
			if _, err := s.net.Call(cctx, mem.RPC, rpc.OpPutManifest, req, [][]byte{rec}); err != nil && holders[mem.ID] {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", mem.ID, err))
				mu.Unlock()
			}
		}(mem)
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("%w: manifest %s not stored by block holders: %w", rpc.ErrUnavailable, ref.Short(), errors.Join(errs...))
	}
	return nil
}

func newPendingKey() blocks.Ref {
	var k blocks.Ref
	rand.Read(k[:])
	return k
}
