package membership

import (
	"context"
	"time"

	"github.com/emerge-dev/emerge/pubsub"
	"github.com/emerge-dev/emerge/registry"
	"github.com/emerge-dev/emerge/rpc"
)

// tickLoop heartbeats, advances liveness, keeps the bus subscribed, persists
// the table, and retries joining while this node has heard no one.
func (s *Service) tickLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case now := <-t.C:
			s.Heartbeat()
			s.reg.Tick(now)
			s.reconcile()
			s.save(false)
			if s.alone() {
				s.join(context.Background())
			}
		}
	}
}

// Heartbeat publishes this node's heartbeat now (a record change spreads
// without waiting for the next tick).
func (s *Service) Heartbeat() {
	self := s.reg.Self()
	s.bus.Publish(context.Background(), pubsub.Message{Type: pubsub.TypeHeartbeat, From: self.ID,
		Incarnation: self.Incarnation, RPC: self.RPC, Pub: self.Pub, Digest: s.reg.Digest()})
}

// alone reports that no other member is live: the seeds were down, or every
// member left. With seeds configured the node keeps trying them.
func (s *Service) alone() bool {
	return len(s.reg.Live()) <= 1 && len(s.seeds()) > 0
}

// reconcile subscribes the bus to every member's pub endpoint. Connect is
// idempotent; this repairs anything a dropped event missed.
func (s *Service) reconcile() {
	self := s.reg.Self().ID
	for _, st := range s.reg.Members() {
		if st.ID != self && st.Pub != "" && !st.Left {
			s.bus.Connect(st.Pub)
		}
	}
}

// busLoop handles messages from the bus: membership ones here, the rest to
// onMessage.
func (s *Service) busLoop() {
	defer s.wg.Done()
	for {
		select {
		case <-s.quit:
			return
		case m, ok := <-s.bus.Messages():
			if !ok {
				return
			}
			s.handle(m)
		}
	}
}

func (s *Service) handle(m pubsub.Message) {
	switch m.Type {
	case pubsub.TypeHello, pubsub.TypeHeartbeat:
		needPull := s.reg.Heard(m.From, m.Incarnation)
		if needPull || (m.Digest != s.reg.Digest() && !s.mergedLately(m.Digest)) {
			s.requestPull(m.RPC)
		}
	case pubsub.TypeLeave:
		if st, ok := s.reg.Get(m.From); ok && m.Incarnation >= st.Incarnation {
			left := st.Member
			left.Left, left.Incarnation = true, m.Incarnation
			s.reg.Merge(left)
		}
	default:
		if s.cfg.OnMessage != nil {
			s.cfg.OnMessage(m)
		}
	}
}

// requestPull queues a table pull from endpoint unless one started there
// within the last heartbeat.
func (s *Service) requestPull(endpoint string) {
	if endpoint == "" {
		return
	}
	s.mu.Lock()
	last, busy := s.pulling[endpoint]
	if busy && time.Since(last) < s.cfg.Heartbeat {
		s.mu.Unlock()
		return
	}
	s.pulling[endpoint] = time.Now()
	s.mu.Unlock()
	select {
	case s.pulls <- endpoint:
	default: // queue full: the next heartbeat asks again
	}
}

// mergedLately reports whether a table with digest d was merged within the
// last few heartbeats: pulling it again from another member teaches
// nothing. In a cluster that converges every member hears every other's
// digest each heartbeat; without this, each would pull each.
func (s *Service) mergedLately(d uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.merged[d]
	return ok && time.Since(at) < mergedFor*s.cfg.Heartbeat
}

// mergedFor is how many heartbeats a merged table's digest is remembered.
const mergedFor = 3

func (s *Service) noteMerged(d uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.merged) >= 256 {
		for k, at := range s.merged {
			if time.Since(at) >= mergedFor*s.cfg.Heartbeat {
				delete(s.merged, k)
			}
		}
	}
	if len(s.merged) < 1024 {
		s.merged[d] = time.Now()
	}
}

// pullLoop pulls member tables, one at a time.
func (s *Service) pullLoop() {
	defer s.wg.Done()
	for {
		select {
		case <-s.quit:
			return
		case ep := <-s.pulls:
			ctx, cancel := context.WithTimeout(context.Background(), 2*s.cfg.Heartbeat)
			m, err := s.cfg.Caller.Call(ctx, ep, rpc.OpRegistry, &rpc.Header{}, nil)
			if err == nil {
				err = s.mergeTable(m)
			}
			var rep rpc.TableRep
			if err == nil && m.Decode(&rep) == nil {
				s.noteMerged(rep.Digest)
			}
			cancel()
			if err != nil {
				s.log.Debug().Err(err).Str("peer", ep).Msg("member table pull failed")
			}
		}
	}
}

// eventLoop reacts to membership changes: subscribe to newcomers, drop
// connections to removed members, and report joins and departures.
func (s *Service) eventLoop() {
	defer s.wg.Done()
	self := s.reg.Self().ID
	for {
		select {
		case <-s.quit:
			return
		case e := <-s.events:
			if e.Member.ID == self {
				continue
			}
			s.onEvent(e)
		}
	}
}

func (s *Service) onEvent(e registry.Event) {
	m := e.Member
	log := s.log.Info()
	switch e.Kind {
	case registry.EventJoin, registry.EventRejoin, registry.EventUpdate:
		if m.Pub != "" && !m.Left {
			s.bus.Connect(m.Pub)
		}
	case registry.EventRemove:
		s.bus.Disconnect(m.Pub)
	case registry.EventSuspect, registry.EventAlive:
		log = s.log.Debug()
	}
	log.Str("event", e.Kind.String()).Str("peer", m.ID).Str("rpc", m.RPC).
		Str("from", e.From.String()).Str("to", e.To.String()).Msg("membership")
	if s.cfg.OnEvent != nil {
		s.cfg.OnEvent(e)
	}
}
