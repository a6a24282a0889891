package names

import (
	"fmt"
	"sync"
	"time"
)

// HLC is a hybrid logical clock reading: physical milliseconds since the
// epoch, and a counter ordering events within one millisecond (or while the
// local clock lags one heard from a peer).
type HLC struct {
	Wall    int64  // unix milliseconds
	Logical uint32 // order within Wall
}

// Compare orders readings: -1, 0 or +1.
func (a HLC) Compare(b HLC) int {
	switch {
	case a.Wall < b.Wall:
		return -1
	case a.Wall > b.Wall:
		return 1
	case a.Logical < b.Logical:
		return -1
	case a.Logical > b.Logical:
		return 1
	}
	return 0
}

func (a HLC) String() string { return fmt.Sprintf("%d.%d", a.Wall, a.Logical) }

// Time is the reading's physical part.
func (a HLC) Time() time.Time { return time.UnixMilli(a.Wall).UTC() }

// maxDrift caps how far ahead of the local clock a remote reading may pull
// this node's clock: a peer with a clock a year fast must not drag every
// future write after it.
const maxDrift = time.Hour

// clock is one node's HLC. Safe for concurrent use.
type clock struct {
	mu   sync.Mutex
	now  func() time.Time
	last HLC
}

// tick is a local event: a reading later than every one seen so far.
func (c *clock) tick() HLC {
	c.mu.Lock()
	defer c.mu.Unlock()
	pt := c.now().UnixMilli()
	if pt > c.last.Wall {
		c.last = HLC{Wall: pt}
	} else {
		c.last.Logical++
	}
	return c.last
}

// observe takes in a reading from a peer, so that the next local event
// orders after it. A reading more than maxDrift ahead of the local clock is
// not taken in (the entry is still stored). It reports whether it was.
func (c *clock) observe(r HLC) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.Wall > c.now().Add(maxDrift).UnixMilli() {
		return false
	}
	if r.Compare(c.last) > 0 {
		c.last = r
	}
	return true
}
