package node

import (
	"context"
	"time"

	"github.com/emerge-dev/emerge/pubsub"
	"github.com/emerge-dev/emerge/registry"
	"github.com/emerge-dev/emerge/rpc"
)

// tickLoop heartbeats, advances liveness, keeps the bus subscribed, persists
// the table, and retries joining while this node has heard no one.
func (c *cluster) tickLoop() {
	defer c.wg.Done()
	t := time.NewTicker(c.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-c.quit:
			return
		case now := <-t.C:
			c.heartbeat()
			c.reg.Tick(now)
			c.reconcile()
			c.save(false)
			if c.alone() {
				c.join(context.Background())
			}
		}
	}
}

func (c *cluster) heartbeat() {
	self := c.reg.Self()
	c.bus.Publish(context.Background(), pubsub.Message{Type: pubsub.TypeHeartbeat, From: self.ID,
		Incarnation: self.Incarnation, RPC: self.RPC, Pub: self.Pub, Digest: c.reg.Digest()})
}

// alone reports that no other member is live: the seeds were down, or every
// member left. With seeds configured the node keeps trying them.
func (c *cluster) alone() bool {
	return len(c.reg.Live()) <= 1 && len(c.seeds()) > 0
}

// reconcile subscribes the bus to every member's pub endpoint. Connect is
// idempotent; this repairs anything a dropped event missed.
func (c *cluster) reconcile() {
	self := c.reg.Self().ID
	for _, st := range c.reg.Members() {
		if st.ID != self && st.Pub != "" && !st.Left {
			c.bus.Connect(st.Pub)
		}
	}
}

// busLoop handles messages from the bus: membership ones here, the rest to
// onMessage.
func (c *cluster) busLoop() {
	defer c.wg.Done()
	for {
		select {
		case <-c.quit:
			return
		case m, ok := <-c.bus.Messages():
			if !ok {
				return
			}
			c.handle(m)
		}
	}
}

func (c *cluster) handle(m pubsub.Message) {
	switch m.Type {
	case pubsub.TypeHello, pubsub.TypeHeartbeat:
		needPull := c.reg.Heard(m.From, m.Incarnation)
		if needPull || m.Digest != c.reg.Digest() {
			c.requestPull(m.RPC)
		}
	case pubsub.TypeLeave:
		if st, ok := c.reg.Get(m.From); ok && m.Incarnation >= st.Incarnation {
			left := st.Member
			left.Left, left.Incarnation = true, m.Incarnation
			c.reg.Merge(left)
		}
	default:
		if c.onMessage != nil {
			c.onMessage(m)
		}
	}
}

// requestPull queues a table pull from endpoint unless one started there
// within the last heartbeat.
func (c *cluster) requestPull(endpoint string) {
	if endpoint == "" {
		return
	}
	c.mu.Lock()
	last, busy := c.pulling[endpoint]
	if busy && time.Since(last) < c.cfg.Heartbeat {
		c.mu.Unlock()
		return
	}
	c.pulling[endpoint] = time.Now()
	c.mu.Unlock()
	select {
	case c.pulls <- endpoint:
	default: // queue full: the next heartbeat asks again
	}
}

// pullLoop pulls member tables, one at a time.
func (c *cluster) pullLoop() {
	defer c.wg.Done()
	for {
		select {
		case <-c.quit:
			return
		case ep := <-c.pulls:
			ctx, cancel := context.WithTimeout(context.Background(), 2*c.cfg.Heartbeat)
			m, err := c.peers.call(ctx, ep, rpc.OpRegistry, &rpc.Header{}, nil)
			if err == nil {
				err = c.mergeTable(m)
			}
			cancel()
			if err != nil {
				c.log.Debug().Err(err).Str("peer", ep).Msg("member table pull failed")
			}
		}
	}
}

// eventLoop reacts to membership changes: subscribe to newcomers, drop
// connections to removed members, and report joins and departures.
func (c *cluster) eventLoop() {
	defer c.wg.Done()
	self := c.reg.Self().ID
	for {
		select {
		case <-c.quit:
			return
		case e := <-c.events:
			if e.Member.ID == self {
				continue
			}
			c.onEvent(e)
		}
	}
}

func (c *cluster) onEvent(e registry.Event) {
	m := e.Member
	log := c.log.Info()
	switch e.Kind {
	case registry.EventJoin, registry.EventRejoin, registry.EventUpdate:
		if m.Pub != "" && !m.Left {
			c.bus.Connect(m.Pub)
		}
		if e.Kind != registry.EventUpdate && c.onPeerBack != nil {
			c.onPeerBack(m)
		}
	case registry.EventRemove:
		c.bus.Disconnect(m.Pub)
		c.peers.drop(m.RPC)
	case registry.EventSuspect, registry.EventAlive:
		log = c.log.Debug()
	}
	log.Str("event", e.Kind.String()).Str("peer", m.ID).Str("rpc", m.RPC).
		Str("from", e.From.String()).Str("to", e.To.String()).Msg("membership")
}
