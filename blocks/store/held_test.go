package store

import (
	"errors"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
)

func TestCommitHeldPartialAndPending(t *testing.T) {
	clock := newTestClock()
	s := openStore(t, Config{Dir: t.TempDir(), GCInterval: -1, PendingGrace: time.Hour, Clock: clock.Now})
	data := [][]byte{make([]byte, 100), make([]byte, 100), make([]byte, 40)}
	for i := range data {
		data[i][0] = byte(i + 1)
	}
	m := &blocks.Manifest{Size: 240, BlockSize: blocks.MinBlockSize, Created: clock.Now()}
	m.Size = int64(2*blocks.MinBlockSize + 40)
	data[0], data[1] = make([]byte, blocks.MinBlockSize), make([]byte, blocks.MinBlockSize)
	data[0][0], data[1][0] = 1, 2
	for _, d := range data {
		m.Blocks = append(m.Blocks, blocks.Sum(d))
	}
	ref, err := m.Ref()
	if err != nil {
		t.Fatal(err)
	}
	// A placement owner got blocks 0 and 2 pushed under the upload's pending key.
	var pending blocks.Ref
	pending[0] = 0xee
	if err := s.Reserve(pending, []blocks.ID{m.Blocks[0], m.Blocks[2]}, UseOwner); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 2} {
		if err := s.PutBlock(m.Blocks[i], data[i]); err != nil {
			t.Fatal(err)
		}
	}
	held, err := s.CommitHeld(ref, m, UseOwner, pending)
	if err != nil || held != 2 {
		t.Fatalf("CommitHeld: held %d, %v", held, err)
	}
	if got, _, err := s.Manifest(ref); err != nil || len(got.Blocks) != 3 {
		t.Fatalf("manifest of a partly held object: %v", err)
	}
	// The pending uses are gone and the real ones keep the blocks past the grace.
	clock.Advance(2 * time.Hour)
	if _, err := s.Sweep(); err != nil {
		t.Fatal(err)
	}
	has, _ := s.HasBlocks(m.Blocks)
	if !has[0] || has[1] || !has[2] {
		t.Fatalf("held blocks after sweep: %v", has)
	}
	// A full Commit still refuses: block 1 is missing here.
	if err := s.Commit(ref, m, UseOwner); !errors.Is(err, blocks.ErrMissingBlocks) {
		t.Fatalf("full commit of a partial object: %v", err)
	}
	// Tombstone rules hold: a manifest older than the delete cannot come back.
	freed, err := s.Delete(ref, clock.Now())
	if err != nil || freed != int64(blocks.MinBlockSize+40) {
		t.Fatalf("delete freed %d, %v", freed, err)
	}
	if _, err := s.CommitHeld(ref, m, UseCache, blocks.Ref{}); !errors.Is(err, blocks.ErrDeleted) {
		t.Fatalf("stale manifest after delete: %v", err)
	}
}

// A delete that arrives after a newer put of the same content leaves it.
func TestDeleteOlderThanPutKeepsObject(t *testing.T) {
	clock := newTestClock()
	s := openStore(t, Config{Dir: t.TempDir(), GCInterval: -1, Clock: clock.Now})
	data := make([]byte, 1000)
	m := &blocks.Manifest{Size: 1000, BlockSize: blocks.MinBlockSize, Blocks: []blocks.ID{blocks.Sum(data)}, Created: clock.Now()}
	ref, _ := m.Ref()
	if err := s.PutBlock(m.Blocks[0], data); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ref, m, UseOwner); err != nil {
		t.Fatal(err)
	}
	if freed, err := s.Delete(ref, clock.Now().Add(-time.Minute)); err != nil || freed != 0 {
		t.Fatalf("stale delete: freed %d, %v", freed, err)
	}
	if _, _, err := s.Manifest(ref); err != nil {
		t.Fatalf("object put after the delete was removed: %v", err)
	}
	if freed, err := s.Delete(ref, clock.Advance(time.Second)); err != nil || freed != 1000 {
		t.Fatalf("current delete: freed %d, %v", freed, err)
	}
}

func TestTombstonesSince(t *testing.T) {
	clock := newTestClock()
	s := openStore(t, Config{Dir: t.TempDir(), GCInterval: -1, Clock: clock.Now})
	var refs []blocks.Ref
	for i := 0; i < 5; i++ {
		var r blocks.Ref
		r[0] = byte(i + 1)
		refs = append(refs, r)
		s.Delete(r, clock.Advance(time.Minute))
	}
	got, err := s.Tombstones(clock.Now().Add(-150 * time.Second))
	if err != nil || len(got) != 3 { // deletes at minutes 3, 4 and 5
		t.Fatalf("tombstones of the last 2.5 minutes: %v, %v", got, err)
	}
	for _, tb := range got {
		if tb.Ref != refs[2] && tb.Ref != refs[3] && tb.Ref != refs[4] {
			t.Fatalf("unexpected tombstone %s", tb.Ref.Short())
		}
	}
}
