package files

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/pubsub"
	"github.com/emerge-dev/emerge/rpc"
)

// forgetTimeout bounds how long a delete waits for the members to apply it.
const forgetTimeout = 5 * time.Second

// Delete removes an object everywhere: a tombstone and block removal here,
// then the same on every live member, told both on the bus and directly over
// rpc (the bus may lose it). It returns the bytes freed on this node.
//
// A delete of a ref nobody knows changes nothing: this node deletes only
// what it has, and when it has nothing it first asks the members to delete
// the object only if they have it; when none has, the answer is ErrNotFound
// and no tombstone is written anywhere (a later stat says not found, not
// deleted). Once some node knew the object, every member writes the
// tombstone, known or not, so a fetch finishing late cannot bring it back.
// Members that were down catch up with the tombstones when they rejoin.
func (s *Service) Delete(ctx context.Context, ref blocks.Ref) (int64, error) {
	at := s.cfg.Now().UTC()
	freed, err := s.forgetIfKnown(ref, at)
	if err != nil && !errors.Is(err, blocks.ErrNotFound) {
		return freed, err
	}
	if err != nil { // not here: does anyone have it?
		if !s.tellMembers(ctx, ref, at, true) {
			return 0, err
		}
		if _, err := s.Forget(ref, at); err != nil && !errors.Is(err, blocks.ErrNotFound) {
			return 0, err
		}
	}
	self := s.net.Self()
	s.net.Publish(ctx, pubsub.Message{Type: pubsub.TypeDelete, From: self.ID, Ref: ref, At: at})
	s.tellMembers(ctx, ref, at, false)
	return freed, nil
}

// tellMembers applies the delete on every other live member (only where
// the object is known, with ifKnown) and reports whether any of them knew
// the object.
func (s *Service) tellMembers(ctx context.Context, ref blocks.Ref, at time.Time, ifKnown bool) bool {
	ctx, cancel := context.WithTimeout(ctx, forgetTimeout)
	defer cancel()
	self := s.net.Self().ID
	var mu sync.Mutex
	known := false
	var wg sync.WaitGroup
	req := &rpc.ForgetReq{Ref: ref[:], At: at.UnixNano(), IfKnown: ifKnown}
	for _, m := range s.net.Live() {
		if m.ID == self {
			continue
		}
		wg.Add(1)
		go func(ep, id string) {
			defer wg.Done()
			_, err := s.net.Call(ctx, ep, rpc.OpForget, req, nil)
			if err != nil && !errors.Is(err, blocks.ErrNotFound) {
				s.log.Warn().Err(err).Str("peer", id).Str("ref", ref.Short()).Msg("delete not applied on a member")
			}
			if err == nil {
				mu.Lock()
				known = true
				mu.Unlock()
			}
		}(m.RPC, m.ID)
	}
	wg.Wait()
	return known
}

// HandleDelete applies a delete heard on the bus.
func (s *Service) HandleDelete(m pubsub.Message) {
	if _, err := s.Forget(m.Ref, m.At); err != nil && !errors.Is(err, blocks.ErrNotFound) {
		s.log.Warn().Err(err).Str("ref", m.Ref.Short()).Msg("apply delete")
	}
}
