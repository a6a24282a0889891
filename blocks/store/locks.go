package store

import (
	"encoding/binary"
	"math/bits"
	"sync"

	"github.com/emerge-dev/emerge/blocks"
)

// Lock stripes. Refs and block ids map to one of lockStripes stripes each,
// so calls on different objects rarely wait for one another: with 1024
// stripes, a commit among 50 concurrent ones finds its stripes free ~95% of
// the time.
//
// Lock order: a ref stripe, then block stripes in ascending order (uses),
// then pin stripes in ascending order. Every holder acquires in that
// order, so no two wait on each other.
const (
	stripeBits  = 10
	lockStripes = 1 << stripeBits
)

// stripeOf maps a ref or block id to its stripe. Refs and ids are hashes,
// but benchmarks and tests use synthetic ones, so all 32 bytes are mixed.
func stripeOf(k [blocks.IDSize]byte) int {
	h := binary.LittleEndian.Uint64(k[0:]) ^ binary.LittleEndian.Uint64(k[8:]) ^
		binary.LittleEndian.Uint64(k[16:]) ^ binary.LittleEndian.Uint64(k[24:])
	return int((h * 0x9e3779b97f4a7c15) >> (64 - stripeBits))
}

// refLocks serialise Commit, CommitHeld, Reserve and Delete of one ref:
// each reads the ref's manifest and writes from what it read.
type refLocks [lockStripes]sync.Mutex

// lock locks ref's stripe and returns its unlock.
func (l *refLocks) lock(ref blocks.Ref) (unlock func()) {
	m := &l[stripeOf(ref)]
	m.Lock()
	return m.Unlock
}

// blockStripe guards the blocks whose ids fall in it.
type blockStripe struct {
	// uses is read-held by a call that checks which blocks are stored and
	// writes uses of them (Commit, CommitHeld, Reserve), and write-held by
	// a removal from its check that a block has no use until its delete
	// commits. So a block is never removed between a commit's check and
	// its use, and a use never appears between a removal's check and its
	// delete.
	uses sync.RWMutex
	// pinMu guards pins. A removal holds it across its transaction, so a
	// Pin that returns before a removal commits keeps its block.
	pinMu sync.Mutex
	pins  map[blocks.ID]int
}

type blockLocks [lockStripes]blockStripe

// stripeSet is a set of stripes, visited in ascending order.
type stripeSet [lockStripes / 64]uint64

func stripesOf(ids []blocks.ID) *stripeSet {
	var set stripeSet
	for _, id := range ids {
		i := stripeOf(id)
		set[i/64] |= 1 << (i % 64)
	}
	return &set
}

// each calls fn for every stripe in the set, in ascending order.
func (set *stripeSet) each(fn func(i int)) {
	for w, word := range set {
		for word != 0 {
			b := bits.TrailingZeros64(word)
			fn(w*64 + b)
			word &^= 1 << b
		}
	}
}

// readUses read-locks the use stripes of ids and returns the unlock.
func (l *blockLocks) readUses(ids []blocks.ID) (unlock func()) {
	set := stripesOf(ids)
	set.each(func(i int) { l[i].uses.RLock() })
	return func() { set.each(func(i int) { l[i].uses.RUnlock() }) }
}

// writeUses write-locks the use stripes of set and returns the unlock.
func (l *blockLocks) writeUses(set *stripeSet) (unlock func()) {
	set.each(func(i int) { l[i].uses.Lock() })
	return func() { set.each(func(i int) { l[i].uses.Unlock() }) }
}

// lockPins locks the pin stripes of set and returns the unlock.
func (l *blockLocks) lockPins(set *stripeSet) (unlock func()) {
	set.each(func(i int) { l[i].pinMu.Lock() })
	return func() { set.each(func(i int) { l[i].pinMu.Unlock() }) }
}

// pinned reports whether id is pinned; the caller holds its pin stripe.
func (l *blockLocks) pinned(id blocks.ID) bool { return l[stripeOf(id)].pins[id] > 0 }

// isPinned reports whether id is pinned, taking its pin stripe.
func (s *Store) isPinned(id blocks.ID) bool {
	st := &s.blockMu[stripeOf(id)]
	st.pinMu.Lock()
	defer st.pinMu.Unlock()
	return st.pins[id] > 0
}

func (l *blockLocks) pin(id blocks.ID) {
	st := &l[stripeOf(id)]
	st.pinMu.Lock()
	defer st.pinMu.Unlock()
	if st.pins == nil {
		st.pins = make(map[blocks.ID]int)
	}
	st.pins[id]++
}

func (l *blockLocks) unpin(id blocks.ID) {
	st := &l[stripeOf(id)]
	st.pinMu.Lock()
	defer st.pinMu.Unlock()
	if n := st.pins[id]; n > 1 {
		st.pins[id] = n - 1
	} else {
		delete(st.pins, id)
	}
}

// pinCount returns the number of distinct pinned ids.
func (l *blockLocks) pinCount() (n int) {
	for i := range l {
		l[i].pinMu.Lock()
		n += len(l[i].pins)
		l[i].pinMu.Unlock()
	}
	return n
}
