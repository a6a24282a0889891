package rpc

// Admission: who gets a handler slot.
//
// A server runs at most MaxInflight handlers. Without more rules one peer
// that keeps hundreds of slow requests in flight (gets of refs nobody has,
// each waiting out a locate) holds every slot, and every other client,
// control ops included, is answered "busy". So:
//
//   - Control ops (ping, info, join, registry, members) have Reserved slots
//     of their own: data ops never use the last Reserved slots. A control op
//     that finds no slot is refused at once; they are quick.
//   - A connection (a ROUTER routing id: one DEALER) runs at most MaxPerConn
//     data ops. More wait in its queue, at most MaxQueued of them and
//     QueueBytes in all (across connections); beyond that they are refused.
//   - A freed data slot goes to the connections with queued requests in
//     turn (round robin), so a connection that queued many does not starve
//     one that queued a few.
//
// The admitter is owned by the server's socket owner goroutine: no locks.

// Control reports the ops served from the reserved slots: liveness,
// identity and membership, which must keep working when data ops saturate a
// node.
func (o Op) Control() bool {
	switch o {
	case OpPing, OpInfo, OpJoin, OpRegistry, OpMembers:
		return true
	}
	return false
}

// admitLimits are the filled-in limits of ServerConfig.
type admitLimits struct {
	maxAll, maxData int   // slots in all; slots data ops may use
	perConn, perCtl int   // running per connection: data ops, control ops
	maxQueued       int   // queued per connection
	queueBytes      int64 // queued, all connections
}

type admitter struct {
	lim         admitLimits
	data, ctl   int   // running
	queuedBytes int64 // queued, all connections
	conns       map[string]*connLoad
	turn        []string // connections with queued requests, in turn order
}

type connLoad struct {
	data, ctl int
	queue     []job
}

// job is a request waiting for a slot.
type job struct {
	rid  []byte
	m    *Message
	size int64
}

// verdict is what admit decided.
type verdict uint8

const (
	runNow verdict = iota
	queued
	refused
)

func newAdmitter(lim admitLimits) *admitter {
	return &admitter{lim: lim, conns: make(map[string]*connLoad)}
}

// admit decides for a request from rid. On runNow the slot is taken: the
// caller must call done when the reply has left.
func (a *admitter) admit(rid []byte, m *Message) verdict {
	c := a.conn(rid)
	if m.Op.Control() {
		if c.ctl >= a.lim.perCtl || a.data+a.ctl >= a.lim.maxAll {
			a.gc(rid, c)
			return refused
		}
		c.ctl++
		a.ctl++
		return runNow
	}
	if len(c.queue) == 0 && c.data < a.lim.perConn && a.dataRoom() {
		c.data++
		a.data++
		return runNow
	}
	size := messageSize(m)
	if len(c.queue) >= a.lim.maxQueued || a.queuedBytes+size > a.lim.queueBytes {
		a.gc(rid, c)
		return refused
	}
	if len(c.queue) == 0 {
		a.turn = append(a.turn, string(rid))
	}
	c.queue = append(c.queue, job{rid: rid, m: m, size: size})
	a.queuedBytes += size
	return queued
}

// done releases the slot of a request admitted or started by next.
func (a *admitter) done(rid []byte, control bool) {
	c := a.conns[string(rid)]
	if c == nil {
		return // cannot happen: a running request keeps its entry
	}
	if control {
		c.ctl--
		a.ctl--
	} else {
		c.data--
		a.data--
	}
	a.gc(rid, c)
}

// next returns a queued request that may run now, its slot taken, giving
// connections their turn in order.
func (a *admitter) next() (job, bool) {
	if !a.dataRoom() {
		return job{}, false
	}
	for i, key := range a.turn {
		c := a.conns[key]
		if c.data >= a.lim.perConn {
			continue
		}
		j := c.queue[0]
		c.queue[0] = job{}
		c.queue = c.queue[1:]
		a.queuedBytes -= j.size
		c.data++
		a.data++
		// This connection goes to the back of the line, or leaves it.
		a.turn = append(a.turn[:i], a.turn[i+1:]...)
		if len(c.queue) > 0 {
			a.turn = append(a.turn, key)
		}
		return j, true
	}
	return job{}, false
}

// drain removes and returns every queued request (the server is closing).
func (a *admitter) drain() []job {
	var out []job
	for _, key := range a.turn {
		c := a.conns[key]
		out = append(out, c.queue...)
		c.queue = nil
		a.gc([]byte(key), c)
	}
	a.turn, a.queuedBytes = nil, 0
	return out
}

func (a *admitter) dataRoom() bool {
	return a.data < a.lim.maxData && a.data+a.ctl < a.lim.maxAll
}

func (a *admitter) conn(rid []byte) *connLoad {
	c := a.conns[string(rid)]
	if c == nil {
		c = &connLoad{}
		a.conns[string(rid)] = c
	}
	return c
}

// gc forgets a connection with nothing running or queued, so the map holds
// only busy connections.
func (a *admitter) gc(rid []byte, c *connLoad) {
	if c.data == 0 && c.ctl == 0 && len(c.queue) == 0 {
		delete(a.conns, string(rid))
	}
}

// queued reports the requests waiting, all connections.
func (a *admitter) waiting() int {
	n := 0
	for _, key := range a.turn {
		n += len(a.conns[key].queue)
	}
	return n
}

func messageSize(m *Message) int64 {
	n := int64(len(m.Raw))
	for _, d := range m.Data {
		n += int64(len(d))
	}
	return n
}
