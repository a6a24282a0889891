package mover

import "github.com/emerge-dev/emerge/blocks"

// Candidate is a peer a block may move from (a pull) or to (a push). Lower
// tiers are preferred: the mover uses a higher tier for a block only when
// no candidate of a lower tier is left to try for it. Among the usable
// candidates of a tier it takes the least loaded with room in its window;
// when all of them are busy the block waits for them rather than move to a
// worse tier.
type Candidate struct {
	Peer string
	Tier int
}

// Policy is what one purpose decides. Its methods are called on the
// mover's goroutine, one at a time.
type Policy interface {
	// Candidates lists where block id may move from or to, in preference
	// order. The mover skips peers it gave up on, peers already tried for
	// id, and peers that already hold or are receiving a copy of id.
	Candidates(id blocks.ID) []Candidate
	// Window is how many transfers may be in flight with one peer used at
	// tier.
	Window(tier int) int
	// Ready reports whether block id may start now (a get's read-ahead).
	// Readiness must be monotone along the item order: once Ready returns
	// false, the blocks after it are not asked until the next Wake.
	Ready(id blocks.ID) bool
	// Landed reports that one copy of id moved with peer.
	Landed(id blocks.ID, peer string)
}

// Ticker is implemented by policies that want a call every Config.Check
// (a prefetch announcing the blocks it landed).
type Ticker interface {
	Tick()
}

// Abandoner is implemented by policies that run with Config.SkipStuck: it
// is told of each block given up (no candidate left, none found), with the
// copies that did land.
type Abandoner interface {
	Abandoned(id blocks.ID, landed int, err error)
}
