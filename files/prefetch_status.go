package files

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/rpc"
)

// statusTimeout bounds the question to one target.
const statusTimeout = 2 * time.Second

// PrefetchLocal reports this node's own progress on the prefetch of ref.
func (s *Service) PrefetchLocal(ref blocks.Ref) rpc.PrefetchNode {
	self := s.net.Self().ID
	s.pf.mu.Lock()
	j := s.pf.jobs[ref]
	s.pf.mu.Unlock()
	st := rpc.PrefetchNode{Node: self, State: StateUnknown}
	if j != nil {
		st = j.status(self)
	}
	st.Served = s.Served()
	return st
}

// PrefetchStatus asks every live target of the prefetch of ref for its
// progress. This node must know the intent (the source does, and so does
// every node that heard it).
func (s *Service) PrefetchStatus(ctx context.Context, ref blocks.Ref) (*rpc.PrefetchStatusRep, error) {
	in := s.pf.intent(ref)
	if in == nil {
		return nil, fmt.Errorf("%w: no prefetch of %s known here", blocks.ErrNotFound, ref.Short())
	}
	rep := &rpc.PrefetchStatusRep{Ref: ref[:], Source: in.from, Groups: in.groups, Served: s.Served()}
	self := s.net.Self().ID
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, m := range s.net.Live() {
		if !in.targets(m) {
			continue
		}
		if m.ID == self {
			rep.Nodes = append(rep.Nodes, s.PrefetchLocal(ref))
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := s.remoteStatus(ctx, ref, m.ID, m.RPC)
			mu.Lock()
			rep.Nodes = append(rep.Nodes, st)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.SortFunc(rep.Nodes, func(a, b rpc.PrefetchNode) int { return strings.Compare(a.Node, b.Node) })
	return rep, nil
}

func (s *Service) remoteStatus(ctx context.Context, ref blocks.Ref, id, endpoint string) rpc.PrefetchNode {
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	st := rpc.PrefetchNode{Node: id, State: StateUnknown}
	msg, err := s.net.Call(ctx, endpoint, rpc.OpPrefetchStatus, &rpc.PrefetchStatusReq{Ref: ref[:], Local: true}, nil)
	var rep rpc.PrefetchStatusRep
	if err == nil {
		err = msg.Decode(&rep)
	}
	if err == nil && len(rep.Nodes) != 1 {
		err = fmt.Errorf("%w: %d entries in a local status", rpc.ErrBadRequest, len(rep.Nodes))
	}
	if err != nil {
		st.Error = err.Error()
		return st
	}
	st = rep.Nodes[0]
	st.Node = id
	return st
}
