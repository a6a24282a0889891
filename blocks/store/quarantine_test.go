package store

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/emerge-dev/emerge/blocks"
)

// A copy that does not match its id is never returned: the read reports
// it not found (quarantined), the block and its uses leave the store, the
// object shows the block missing, and the callback hears of it.
func TestCorruptCopyIsQuarantinedOnRead(t *testing.T) {
	clock := newTestClock()
	cfg := testConfig(t, clock)
	var told atomic.Int64
	cfg.OnQuarantine = func(blocks.ID) { told.Add(1) }
	s := openStore(t, cfg)
	o := newObject(t, randomBlocks(newRand(t), 3, 5000), clock.Now())
	putBlocks(t, s, o.blocks)
	if err := s.Commit(o.ref, o.m, UseOwner); err != nil {
		t.Fatal(err)
	}
	bad := o.m.Blocks[1]
	// Damage: one byte flipped under the block's id, as a bad disk would.
	flipped := append([]byte(nil), o.blocks[1]...)
	flipped[100] ^= 0xff
	if err := s.db.Update(func(txn *badger.Txn) error {
		return txn.Set(blockKey(bad), flipped)
	}); err != nil {
		t.Fatal(err)
	}
	_, err := s.GetBlock(bad, nil)
	if !errors.Is(err, blocks.ErrNotFound) || !errors.Is(err, ErrQuarantined) {
		t.Fatalf("read of a damaged copy: %v", err)
	}
	if has, _ := s.HasBlocks([]blocks.ID{bad}); has[0] {
		t.Fatal("damaged copy still stored")
	}
	if told.Load() != 1 || s.QuarantinedCount() != 1 {
		t.Fatalf("told %d, counted %d", told.Load(), s.QuarantinedCount())
	}
	log, err := s.QuarantineLog(10)
	if err != nil || len(log) != 1 || log[0].ID != bad {
		t.Fatalf("quarantine log %v %v", log, err)
	}
	if probs, err := s.Check(); err != nil || len(probs) > 0 {
		t.Fatalf("store after quarantine: %v %v", probs, err)
	}
}

func TestLostValueFoundAtOpen(t *testing.T) {
	clock := newTestClock()
	cfg := testConfig(t, clock)
	s := openStore(t, cfg)
	o := newObject(t, randomBlocks(newRand(t), 2, 3000), clock.Now())
	putBlocks(t, s, o.blocks)
	if err := s.Commit(o.ref, o.m, UseOwner); err != nil {
		t.Fatal(err)
	}
	// What a truncated value log leaves: the key, an empty value.
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(blockKey(o.m.Blocks[0]), nil) }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if s2.QuarantinedCount() != 1 {
		t.Fatalf("%d quarantined at open, want 1", s2.QuarantinedCount())
	}
	if has, _ := s2.HasBlocks(o.m.Blocks); has[0] || !has[1] {
		t.Fatalf("after open: %v", has)
	}
}

func TestHoldsAndDropUses(t *testing.T) {
	clock := newTestClock()
	s := openStore(t, testConfig(t, clock))
	owned := newObject(t, randomBlocks(newRand(t), 2, 3000), clock.Now())
	putBlocks(t, s, owned.blocks)
	if err := s.Commit(owned.ref, owned.m, UseOwner); err != nil {
		t.Fatal(err)
	}
	cached := newObject(t, [][]byte{[]byte("cached block")}, clock.Now())
	putBlocks(t, s, cached.blocks)
	if err := s.Commit(cached.ref, cached.m, UseCache); err != nil {
		t.Fatal(err)
	}
	ids := []blocks.ID{owned.m.Blocks[0], cached.m.Blocks[0], blocks.Sum([]byte("absent"))}
	got, err := s.Holds(ids)
	if err != nil || got[0] != UseOwner || got[1] != UseCache || got[2] != 0 {
		t.Fatalf("Holds: %v %v", got, err)
	}
	pending := blocks.Ref(blocks.Sum([]byte("pending key")))
	stray := []byte("pushed under a pending key")
	s.Pin(blocks.Sum(stray))
	putBlocks(t, s, [][]byte{stray})
	if err := s.Reserve(pending, []blocks.ID{blocks.Sum(stray)}, UseOwner); err != nil {
		t.Fatal(err)
	}
	s.Unpin(blocks.Sum(stray))
	freed, err := s.DropUses(pending, []blocks.ID{blocks.Sum(stray)})
	if err != nil || freed != int64(len(stray)) {
		t.Fatalf("DropUses: freed %d, %v", freed, err)
	}
	if probs, _ := s.Check(); len(probs) > 0 {
		t.Fatal(probs)
	}
}

func TestDeleteIfKnownLeavesUnknownRefsAlone(t *testing.T) {
	clock := newTestClock()
	s := openStore(t, testConfig(t, clock))
	o := newObject(t, randomBlocks(newRand(t), 1, 100), clock.Now())
	if _, err := s.DeleteIfKnown(o.ref, clock.Advance(time.Second)); !errors.Is(err, blocks.ErrNotFound) {
		t.Fatalf("delete of an unknown ref: %v", err)
	}
	if _, ok, _ := s.Tombstone(o.ref); ok {
		t.Fatal("a delete of an unknown ref wrote a tombstone")
	}
	if _, _, err := s.Manifest(o.ref); !errors.Is(err, blocks.ErrNotFound) || errors.Is(err, blocks.ErrDeleted) {
		t.Fatalf("after: %v, want not found", err)
	}
}
