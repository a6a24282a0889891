package files

import (
	"context"
	"sync"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/blocks/store"
	"github.com/emerge-dev/emerge/rpc"
)

// censusTimeout bounds one member's answer to a census question.
const censusTimeout = 5 * time.Second

// censusFanout is how many members a census asks at once.
const censusFanout = 16

// census is what the live members hold of some blocks, as they answered:
// a member counts as a holder only when it says so now.
type census struct {
	owners map[blocks.ID][]string // members holding an owner copy, this node included
	kept   map[blocks.ID][]string // those of owners whose copy is kept on purpose (never trimmed)
	caches map[blocks.ID][]string // members holding only a cache copy
	asked  []string               // members that answered, this node included
	silent []string               // live members that did not answer: their copies are unknown
}

func (c *census) answered(id string) bool {
	for _, a := range c.asked {
		if a == id {
			return true
		}
	}
	return false
}

// serveHolds answers a census question: how this node holds each block.
func (s *Service) serveHolds(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.HoldsReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	ids, err := req.IDs.Unpack()
	if err != nil {
		return nil, err
	}
	uses, err := s.store.Holds(ids)
	if err != nil {
		return nil, err
	}
	return &rpc.Reply{Body: &rpc.HoldsRep{
		Owned:  rpc.Bitmap(len(ids), func(i int) bool { return uses[i].Durable() }),
		Cached: rpc.Bitmap(len(ids), func(i int) bool { return uses[i] == store.UseCache }),
		Kept:   rpc.Bitmap(len(ids), func(i int) bool { return uses[i] == store.UseKept }),
	}}, nil
}

// takeCensus asks every live member (this node from its own store) how it
// holds ids.
func (s *Service) takeCensus(ctx context.Context, ids []blocks.ID) *census {
	c := &census{owners: map[blocks.ID][]string{}, kept: map[blocks.ID][]string{}, caches: map[blocks.ID][]string{}}
	self := s.net.Self().ID
	if uses, err := s.store.Holds(ids); err == nil {
		c.record(self, ids, func(i int) store.Use { return uses[i] })
		c.asked = append(c.asked, self)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, censusFanout)
	for _, m := range s.net.Live() {
		if m.ID == self {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			owned, kept, cached, ok := s.askHolds(ctx, m.RPC, ids)
			mu.Lock()
			defer mu.Unlock()
			if !ok {
				c.silent = append(c.silent, m.ID)
				return
			}
			c.asked = append(c.asked, m.ID)
			c.record(m.ID, ids, func(i int) store.Use {
				switch {
				case kept[i]:
					return store.UseKept
				case owned[i]:
					return store.UseOwner
				case cached[i]:
					return store.UseCache
				}
				return 0
			})
		}()
	}
	wg.Wait()
	return c
}

func (c *census) record(member string, ids []blocks.ID, use func(i int) store.Use) {
	for i, id := range ids {
		switch u := use(i); {
		case u.Durable():
			c.owners[id] = append(c.owners[id], member)
			if u == store.UseKept {
				c.kept[id] = append(c.kept[id], member)
			}
		case u == store.UseCache:
			c.caches[id] = append(c.caches[id], member)
		}
	}
}

// askHolds asks one member about ids, a page of rpc.MaxIDs at a time.
func (s *Service) askHolds(ctx context.Context, endpoint string, ids []blocks.ID) (owned, kept, cached []bool, ok bool) {
	owned, kept, cached = make([]bool, len(ids)), make([]bool, len(ids)), make([]bool, len(ids))
	for from := 0; from < len(ids); from += rpc.MaxIDs {
		page := ids[from:min(from+rpc.MaxIDs, len(ids))]
		cctx, cancel := context.WithTimeout(ctx, censusTimeout)
		m, err := s.net.Call(cctx, endpoint, rpc.OpHolds, &rpc.HoldsReq{IDs: rpc.PackIDs(page)}, nil)
		cancel()
		var rep rpc.HoldsRep
		if err == nil {
			err = m.Decode(&rep)
		}
		if err != nil {
			s.log.Debug().Err(err).Str("peer", endpoint).Msg("census: no answer")
			return nil, nil, nil, false
		}
		for i := range page {
			owned[from+i], cached[from+i] = rpc.BitSet(rep.Owned, i), rpc.BitSet(rep.Cached, i)
			kept[from+i] = rpc.BitSet(rep.Kept, i)
		}
	}
	return owned, kept, cached, true
}
