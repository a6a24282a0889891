package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
)

// TestStoreModel runs random operations against a Store and an in-memory
// model of what it must hold, checking every invariant after each step.
// EMERGE_SEED=n replays a run; EMERGE_LONG=1 runs many more steps.
func TestStoreModel(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("EMERGE_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	steps := 300
	if os.Getenv("EMERGE_LONG") == "1" {
		steps = 5000
	}
	t.Logf("seed %d (replay with EMERGE_SEED=%d), %d steps", seed, seed, steps)
	h := newModelHarness(t, seed)
	for i := 0; i < steps; i++ {
		h.clock.Advance(time.Duration(h.rng.IntN(15*60)) * time.Second)
		op := h.step()
		if t.Failed() {
			t.Fatalf("step %d (%s) failed; seed %d", i, op, seed)
		}
		h.check(fmt.Sprintf("step %d (%s)", i, op))
	}
	t.Logf("ops: %v", h.ops)
}

type useRef struct {
	id  blocks.ID
	ref blocks.Ref
}

// storeModel is the expected content of the store.
type storeModel struct {
	live    map[blocks.Ref]modelObject
	tombs   map[blocks.Ref]time.Time
	uses    map[useRef]time.Time
	present map[blocks.ID]int // block -> length
	pins    map[blocks.ID]int
}

type modelObject struct {
	o   testObject
	m   blocks.Manifest // as merged by commits
	use Use
}

type modelHarness struct {
	t     *testing.T
	rng   *rand.Rand
	clock *testClock
	cfg   Config
	s     *Store
	model storeModel
	full  [][]byte                  // shared pool of full blocks
	tails [][]byte                  // shared pool of short last blocks
	known map[blocks.Ref]testObject // every object built so far
	refs  []blocks.Ref              // known refs in build order
	ops   map[string]int
}

func newModelHarness(t *testing.T, seed uint64) *modelHarness {
	h := &modelHarness{
		t:     t,
		rng:   rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		clock: newTestClock(),
		known: map[blocks.Ref]testObject{},
		ops:   map[string]int{},
		model: storeModel{
			live: map[blocks.Ref]modelObject{}, tombs: map[blocks.Ref]time.Time{}, uses: map[useRef]time.Time{},
			present: map[blocks.ID]int{}, pins: map[blocks.ID]int{},
		},
	}
	h.cfg = testConfig(t, h.clock)
	h.cfg.TombstoneTTL = 6 * time.Hour
	h.cfg.PendingGrace = time.Hour
	h.full = randomBlocks(h.rng, 12, 0)
	for i := 0; i < 48; i++ {
		h.tails = append(h.tails, randomBytes(h.rng, 1+h.rng.IntN(5000)))
	}
	h.s = openStore(t, h.cfg)
	return h
}

func (h *modelHarness) step() string {
	ops := []struct {
		name   string
		weight int
		run    func()
	}{
		{"put", h.putWeight(), h.opPut}, {"recommit", 8, h.opRecommit}, {"delete", 22, h.opDelete},
		{"get", 8, h.opGet}, {"pin", 8, h.opPin}, {"unpin", 6, h.opUnpin}, {"reserve", 7, h.opReserve},
		{"stray", 5, h.opStray}, {"sweep", 8, h.opSweep}, {"reopen", 3, h.opReopen},
	}
	total := 0
	for _, o := range ops {
		total += o.weight
	}
	n := h.rng.IntN(total)
	for _, o := range ops {
		if n < o.weight {
			h.ops[o.name]++
			o.run()
			return o.name
		}
		n -= o.weight
	}
	panic("unreachable")
}

// putWeight keeps the number of live objects around 40, so that blocks
// keep falling out of use and pins keep mattering in long runs.
func (h *modelHarness) putWeight() int {
	if len(h.model.live) >= 40 {
		return 5
	}
	return 26
}

// buildObject draws blocks from the shared pools, so objects share blocks.
func (h *modelHarness) buildObject() testObject {
	var blocks [][]byte
	for k := h.rng.IntN(4); k > 0; k-- {
		blocks = append(blocks, h.full[h.rng.IntN(len(h.full))])
	}
	if h.rng.IntN(8) > 0 {
		blocks = append(blocks, h.tails[h.rng.IntN(len(h.tails))])
	}
	o := newObject(h.t, blocks, h.clock.Now())
	o.m.Replicas = 1 + h.rng.IntN(3)
	o.ref, _ = o.m.Ref() // replicas are outside the identity
	if _, ok := h.known[o.ref]; !ok {
		h.known[o.ref] = o
		h.refs = append(h.refs, o.ref)
	}
	return o
}

func (h *modelHarness) randomUse() Use { return Use(1 + h.rng.IntN(2)) }

func (h *modelHarness) storeBlocks(data [][]byte) {
	for _, b := range data {
		if err := h.s.PutBlock(blocks.Sum(b), b); err != nil {
			h.t.Fatalf("PutBlock: %v", err)
		}
		h.model.present[blocks.Sum(b)] = len(b)
	}
}

func (h *modelHarness) opPut() {
	o := h.buildObject()
	pin := h.rng.IntN(2) == 0
	if pin {
		h.pin(o.m.Blocks...)
	}
	h.storeBlocks(o.blocks)
	h.commit(o, o.m, h.randomUse())
	if pin {
		h.unpin(o.m.Blocks...)
	}
}

// opRecommit commits a known manifest again without storing its blocks:
// with its first Created (a late fetch) or a fresh one.
func (h *modelHarness) opRecommit() {
	if len(h.refs) == 0 {
		return
	}
	o := h.known[h.refs[h.rng.IntN(len(h.refs))]]
	m := *o.m
	tomb, dead := h.model.tombs[o.ref]
	switch n := h.rng.IntN(4); {
	case n == 0 && dead:
		m.Created = tomb // a put stamped exactly at the delete time
	case n < 2:
		m.Created = h.clock.Now()
	}
	m.Replicas = 1 + h.rng.IntN(4)
	h.commit(o, &m, h.randomUse())
}

func (h *modelHarness) commit(o testObject, m *blocks.Manifest, use Use) {
	want := h.model.commit(o, m, use, h.clock.Now())
	got := h.s.Commit(o.ref, m, use)
	if !errors.Is(got, want) || (want == nil) != (got == nil) {
		h.t.Fatalf("Commit %s: got %v, want %v", o.ref.Short(), got, want)
	}
}

func (md *storeModel) commit(o testObject, m *blocks.Manifest, use Use, now time.Time) error {
	if tomb, ok := md.tombs[o.ref]; ok && !m.Created.After(tomb) {
		return blocks.ErrDeleted
	}
	old, live := md.live[o.ref]
	if live {
		delete(md.tombs, o.ref) // left by a delete older than the object
		merged := old
		merged.m.Replicas = max(old.m.Replicas, m.Replicas)
		if m.Created.After(old.m.Created) {
			merged.m.Created = m.Created
		}
		if use == UseOwner { // owner beats cache
			merged.use = UseOwner
		}
		md.live[o.ref] = merged
		return nil
	}
	for _, id := range m.Blocks {
		if _, ok := md.present[id]; !ok {
			return blocks.ErrMissingBlocks
		}
	}
	for _, id := range m.Blocks {
		md.uses[useRef{id, o.ref}] = now
	}
	delete(md.tombs, o.ref)
	md.live[o.ref] = modelObject{o: o, m: *m, use: use}
	return nil
}

func (h *modelHarness) opDelete() {
	var ref blocks.Ref
	switch n := h.rng.IntN(10); {
	case n == 0 || len(h.refs) == 0:
		ref = blocks.Ref(blocks.Sum(randomBytes(h.rng, 8))) // a ref this store never saw
	case n < 7 && len(h.model.live) > 0:
		for ref = range h.model.live {
			break
		}
	default:
		ref = h.refs[h.rng.IntN(len(h.refs))]
	}
	at := h.clock.Now()
	if h.rng.IntN(4) == 0 {
		at = at.Add(-time.Duration(h.rng.IntN(3600)) * time.Second) // a delayed delete
	}
	wantFreed, wantErr := h.model.delete(ref, at)
	freed, err := h.s.Delete(ref, at)
	if !errors.Is(err, wantErr) || (wantErr == nil) != (err == nil) || freed != wantFreed {
		h.t.Fatalf("Delete %s: freed %d, %v; want %d, %v", ref.Short(), freed, err, wantFreed, wantErr)
	}
}

func (md *storeModel) delete(ref blocks.Ref, at time.Time) (int64, error) {
	if old, ok := md.tombs[ref]; !ok || at.After(old) {
		md.tombs[ref] = at
	}
	obj, ok := md.live[ref]
	if !ok {
		return 0, blocks.ErrNotFound
	}
	if obj.m.Created.After(at) {
		return 0, nil // put again after the delete: the newer put stays
	}
	delete(md.live, ref)
	for _, id := range obj.m.Blocks {
		delete(md.uses, useRef{id, ref})
	}
	var freed int64
	for _, id := range obj.m.Blocks { // a duplicate finds its block gone
		n, _ := md.removeIfUnused(id)
		freed += n
	}
	return freed, nil
}

// removeIfUnused drops a stored block with no use and no pin, returning
// its length.
func (md *storeModel) removeIfUnused(id blocks.ID) (int64, bool) {
	n, ok := md.present[id]
	if !ok || md.pins[id] > 0 {
		return 0, false
	}
	for u := range md.uses {
		if u.id == id {
			return 0, false
		}
	}
	delete(md.present, id)
	return int64(n), true
}

func (md *storeModel) sweep(now time.Time, grace, ttl time.Duration) SweepStats {
	var st SweepStats
	for ref, at := range md.tombs {
		if now.Sub(at) > ttl {
			delete(md.tombs, ref)
			st.Tombstones++
		}
	}
	for u, at := range md.uses {
		if _, live := md.live[u.ref]; !live && now.Sub(at) > grace {
			delete(md.uses, u)
			st.Uses++
		}
	}
	for id := range md.present {
		if n, ok := md.removeIfUnused(id); ok {
			st.Blocks++
			st.Bytes += n
		}
	}
	return st
}

func (h *modelHarness) opGet() {
	if len(h.refs) == 0 {
		return
	}
	o := h.known[h.refs[h.rng.IntN(len(h.refs))]]
	if _, live := h.model.live[o.ref]; live {
		readObject(h.t, h.s, o)
	}
}

func (h *modelHarness) pin(ids ...blocks.ID) {
	h.s.Pin(ids...)
	for _, id := range ids {
		h.model.pins[id]++
	}
}

func (h *modelHarness) unpin(ids ...blocks.ID) {
	h.s.Unpin(ids...)
	for _, id := range ids {
		if h.model.pins[id] > 1 {
			h.model.pins[id]--
		} else {
			delete(h.model.pins, id)
		}
	}
}

func (h *modelHarness) poolBlock() []byte {
	if h.rng.IntN(3) == 0 {
		return h.full[h.rng.IntN(len(h.full))]
	}
	return h.tails[h.rng.IntN(len(h.tails))]
}

func (h *modelHarness) opPin() { h.pin(blocks.Sum(h.poolBlock())) }

func (h *modelHarness) opUnpin() {
	for id := range h.model.pins {
		h.unpin(id)
		return
	}
}

// opReserve reserves blocks for a put that may never commit, and stores
// some of them.
func (h *modelHarness) opReserve() {
	var ref blocks.Ref
	if len(h.refs) > 0 && h.rng.IntN(3) == 0 {
		ref = h.refs[h.rng.IntN(len(h.refs))]
	} else {
		ref = blocks.Ref(blocks.Sum(randomBytes(h.rng, 8)))
	}
	var data [][]byte
	for k := 1 + h.rng.IntN(3); k > 0; k-- {
		data = append(data, h.poolBlock())
	}
	ids := make([]blocks.ID, len(data))
	for i, b := range data {
		ids[i] = blocks.Sum(b)
		h.model.uses[useRef{ids[i], ref}] = h.clock.Now()
	}
	if err := h.s.Reserve(ref, ids, h.randomUse()); err != nil {
		h.t.Fatalf("Reserve: %v", err)
	}
	h.storeBlocks(data[:h.rng.IntN(len(data)+1)])
}

// opStray stores a block no object uses yet, half the time pinned first
// (a fetch in progress).
func (h *modelHarness) opStray() {
	b := h.poolBlock()
	if h.rng.IntN(2) == 0 {
		h.pin(blocks.Sum(b))
	}
	h.storeBlocks([][]byte{b})
}

func (h *modelHarness) opSweep() {
	for id := range h.model.present {
		used := false
		for u := range h.model.uses {
			used = used || u.id == id
		}
		if !used && h.model.pins[id] > 0 {
			h.ops["pinned-unused-at-sweep"]++
		}
	}
	h.ops["live-at-sweep"] += len(h.model.live)
	want := h.model.sweep(h.clock.Now(), h.cfg.PendingGrace, h.cfg.TombstoneTTL)
	got, err := h.s.Sweep()
	if err != nil || got != want {
		h.t.Fatalf("Sweep: %+v %v, want %+v", got, err, want)
	}
}

func (h *modelHarness) opReopen() {
	if err := h.s.Close(); err != nil {
		h.t.Fatalf("Close: %v", err)
	}
	h.model.pins = map[blocks.ID]int{} // pins live in memory
	h.model.sweep(h.clock.Now(), h.cfg.PendingGrace, h.cfg.TombstoneTTL)
	h.s = openStore(h.t, h.cfg)
}

// check compares the whole store with the model.
func (h *modelHarness) check(when string) {
	h.t.Helper()
	for ref, obj := range h.model.live {
		m, use, err := h.s.Manifest(ref)
		if err != nil {
			h.t.Fatalf("%s: live object %s: %v", when, ref.Short(), err)
		}
		if use != obj.use || m.Replicas != obj.m.Replicas || !m.Created.Equal(obj.m.Created) {
			h.t.Fatalf("%s: object %s: use %v replicas %d created %v; want %v %d %v",
				when, ref.Short(), use, m.Replicas, m.Created, obj.use, obj.m.Replicas, obj.m.Created)
		}
		readObject(h.t, h.s, obj.o)
	}
	// Every known ref now and then, a sample otherwise.
	if h.ops["check"]++; h.ops["check"]%50 == 0 {
		for _, ref := range h.refs {
			h.checkDead(when, ref)
		}
	} else {
		for i := 0; i < 20 && len(h.refs) > 0; i++ {
			h.checkDead(when, h.refs[h.rng.IntN(len(h.refs))])
		}
	}
	h.checkBlocks(when)
}

func (h *modelHarness) checkDead(when string, ref blocks.Ref) {
	if _, live := h.model.live[ref]; live {
		return
	}
	_, _, err := h.s.Manifest(ref)
	want := blocks.ErrNotFound
	if _, dead := h.model.tombs[ref]; dead {
		want = blocks.ErrDeleted
	}
	if !errors.Is(err, want) {
		h.t.Fatalf("%s: object %s: %v, want %v", when, ref.Short(), err, want)
	}
	at, ok, err := h.s.Tombstone(ref)
	if wantAt, dead := h.model.tombs[ref]; err != nil || ok != dead || (dead && !at.Equal(wantAt)) {
		h.t.Fatalf("%s: tombstone of %s: %v %v %v, want %v %v", when, ref.Short(), at, ok, err, wantAt, dead)
	}
}

// checkBlocks requires the stored blocks to be exactly the model's: live
// objects keep theirs, and nothing survives a sweep without a use or pin.
func (h *modelHarness) checkBlocks(when string) {
	all := append(append([][]byte{}, h.full...), h.tails...)
	ids := make([]blocks.ID, len(all))
	for i, b := range all {
		ids[i] = blocks.Sum(b)
	}
	has, err := h.s.HasBlocks(ids)
	if err != nil {
		h.t.Fatal(err)
	}
	var bytes int64
	for i, id := range ids {
		n, want := h.model.present[id]
		if has[i] != want {
			h.t.Fatalf("%s: block %s present=%v, want %v", when, id.Short(), has[i], want)
		}
		bytes += int64(n)
	}
	st, err := h.s.Stats()
	if err != nil || st.Objects != int64(len(h.model.live)) || st.Blocks != int64(len(h.model.present)) || st.BlockBytes != bytes {
		h.t.Fatalf("%s: stats %+v %v; want %d objects, %d blocks, %d bytes",
			when, st, err, len(h.model.live), len(h.model.present), bytes)
	}
}
