package store

import (
	"errors"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
)

func TestCommitAndManifest(t *testing.T) {
	clock := newTestClock()
	s := openStore(t, testConfig(t, clock))
	o := newObject(t, randomBlocks(newRand(t), 3, 1234), clock.Now())
	o.m.Meta = map[string]string{"name": "weights.bin"}
	o.ref, _ = o.m.Ref()
	putObject(t, s, o, UseCache)
	m, use, err := s.Manifest(o.ref)
	if err != nil {
		t.Fatal(err)
	}
	if use != UseCache || m.Replicas != 2 || !m.Created.Equal(o.m.Created) || m.Meta["name"] != "weights.bin" || m.ContentType != "application/test" {
		t.Fatalf("manifest back: %+v use %v", m, use)
	}
	if ref, _ := m.Ref(); ref != o.ref {
		t.Fatal("manifest back hashes to another ref")
	}
	readObject(t, s, o)
	_, _, err = s.Manifest(blocks.Ref(blocks.Sum([]byte("unknown"))))
	wantErr(t, err, blocks.ErrNotFound, "unknown ref")
}

func TestCommitRejects(t *testing.T) {
	clock := newTestClock()
	s := openStore(t, testConfig(t, clock))
	rng := newRand(t)
	o := newObject(t, randomBlocks(rng, 2, 10), clock.Now())

	wantErr(t, s.Commit(o.ref, o.m, UseOwner), blocks.ErrMissingBlocks, "commit before any block")
	putBlocks(t, s, o.blocks[:1])
	wantErr(t, s.Commit(o.ref, o.m, UseOwner), blocks.ErrMissingBlocks, "commit with a block missing")
	_, _, err := s.Manifest(o.ref)
	wantErr(t, err, blocks.ErrNotFound, "manifest after a failed commit")

	putBlocks(t, s, o.blocks)
	wantErr(t, s.Commit(blocks.Ref(blocks.Sum([]byte("other"))), o.m, UseOwner), blocks.ErrBadManifest, "commit under a wrong ref")
	wantErr(t, s.Commit(o.ref, o.m, 0), blocks.ErrInvalidArgument, "use 0")
	wantErr(t, s.Commit(o.ref, o.m, 4), blocks.ErrInvalidArgument, "use 4")
	bad := *o.m
	bad.Size++
	wantErr(t, s.Commit(o.ref, &bad, UseOwner), blocks.ErrBadManifest, "invalid manifest")
	if st, _ := s.Stats(); st.Objects != 0 {
		t.Fatalf("objects after rejected commits: %d", st.Objects)
	}
	// The failed commits wrote nothing: the stray blocks have no use.
	if st, err := s.Sweep(); err != nil || st.Blocks != len(o.blocks) {
		t.Fatalf("sweep after rejected commits: %+v %v", st, err)
	}
}

func TestCommitMerges(t *testing.T) {
	clock := newTestClock()
	s := openStore(t, testConfig(t, clock))
	o := newObject(t, randomBlocks(newRand(t), 1, 100), clock.Now())
	putObject(t, s, o, UseCache)

	again := *o.m
	again.Replicas, again.Created = 5, o.m.Created.Add(-time.Hour)
	if err := s.Commit(o.ref, &again, UseOwner); err != nil {
		t.Fatal(err)
	}
	m, use, _ := s.Manifest(o.ref)
	if m.Replicas != 5 || !m.Created.Equal(o.m.Created) || use != UseOwner {
		t.Fatalf("after owner commit: replicas %d created %v use %v", m.Replicas, m.Created, use)
	}
	later := *o.m
	later.Replicas, later.Created = 1, o.m.Created.Add(time.Hour)
	if err := s.Commit(o.ref, &later, UseCache); err != nil {
		t.Fatal(err)
	}
	m, use, _ = s.Manifest(o.ref)
	if m.Replicas != 5 || !m.Created.Equal(later.Created) || use != UseOwner {
		t.Fatalf("after cache commit: replicas %d created %v use %v", m.Replicas, m.Created, use)
	}
	if st, _ := s.Stats(); st.Objects != 1 {
		t.Fatalf("objects after re-commits: %d", st.Objects)
	}
}

func TestTombstoneRules(t *testing.T) {
	clock := newTestClock()
	s := openStore(t, testConfig(t, clock))
	rng := newRand(t)
	t0 := clock.Now()
	o := newObject(t, randomBlocks(rng, 2, 7), t0)
	putObject(t, s, o, UseOwner)

	delAt := clock.Advance(time.Minute)
	if _, err := s.Delete(o.ref, delAt); err != nil {
		t.Fatal(err)
	}
	_, _, err := s.Manifest(o.ref)
	wantErr(t, err, blocks.ErrDeleted, "manifest of a deleted object")
	if at, ok, err := s.Tombstone(o.ref); err != nil || !ok || !at.Equal(delAt) {
		t.Fatalf("Tombstone: %v %v %v", at, ok, err)
	}

	// A fetch that started before the delete cannot resurrect it, even
	// with every block present again.
	putBlocks(t, s, o.blocks)
	wantErr(t, s.Commit(o.ref, o.m, UseCache), blocks.ErrDeleted, "late commit, created before the delete")
	same := *o.m
	same.Created = delAt
	wantErr(t, s.Commit(o.ref, &same, UseOwner), blocks.ErrDeleted, "commit created at the delete time")

	// A fresh put of the same content clears the tombstone.
	fresh := *o.m
	fresh.Created = clock.Advance(time.Minute)
	if err := s.Commit(o.ref, &fresh, UseOwner); err != nil {
		t.Fatalf("fresh put: %v", err)
	}
	if _, ok, _ := s.Tombstone(o.ref); ok {
		t.Fatal("tombstone survived a fresh put")
	}
	readObject(t, s, o)
}

func TestDeleteUnknownWritesTombstone(t *testing.T) {
	clock := newTestClock()
	s := openStore(t, testConfig(t, clock))
	o := newObject(t, randomBlocks(newRand(t), 1, 0), clock.Now())
	at := clock.Advance(time.Second)
	freed, err := s.Delete(o.ref, at)
	wantErr(t, err, blocks.ErrNotFound, "delete of an unknown ref")
	if freed != 0 {
		t.Fatalf("freed %d", freed)
	}
	_, _, err = s.Manifest(o.ref)
	wantErr(t, err, blocks.ErrDeleted, "manifest after deleting an unknown ref")
	putBlocks(t, s, o.blocks)
	wantErr(t, s.Commit(o.ref, o.m, UseCache), blocks.ErrDeleted, "late fetch after a delete this store never saw")

	// The tombstone keeps the latest time; a zero time means the clock.
	if _, err := s.Delete(o.ref, at.Add(-time.Hour)); !errors.Is(err, blocks.ErrNotFound) {
		t.Fatal(err)
	}
	if got, _, _ := s.Tombstone(o.ref); !got.Equal(at) {
		t.Fatalf("tombstone moved back to %v", got)
	}
	now := clock.Advance(time.Hour)
	s.Delete(o.ref, time.Time{})
	if got, _, _ := s.Tombstone(o.ref); !got.Equal(now) {
		t.Fatalf("tombstone %v, want the clock %v", got, now)
	}
	if _, ok, err := s.Tombstone(blocks.Ref{}); ok || err != nil {
		t.Fatalf("tombstone of a never-deleted ref: %v %v", ok, err)
	}
}

func TestDeleteSharedBlocks(t *testing.T) {
	clock := newTestClock()
	s := openStore(t, testConfig(t, clock))
	rng := newRand(t)
	shared := randomBlocks(rng, 2, 0)
	onlyA := randomBlocks(rng, 1, 0)
	tailA, tailB := randomBytes(rng, 300), randomBytes(rng, 400)
	// A uses its own block twice: duplicates inside one manifest.
	a := newObject(t, [][]byte{shared[0], onlyA[0], onlyA[0], shared[1], tailA}, clock.Now())
	b := newObject(t, [][]byte{shared[1], shared[0], tailB}, clock.Now())
	putObject(t, s, a, UseOwner)
	putObject(t, s, b, UseCache)

	freed, err := s.Delete(a.ref, clock.Advance(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(len(onlyA[0]) + len(tailA)); freed != want {
		t.Fatalf("freed %d, want %d", freed, want)
	}
	mustHave(t, s, [][]byte{onlyA[0], tailA}, false)
	mustHave(t, s, shared, true)
	readObject(t, s, b)

	freed, err = s.Delete(b.ref, clock.Advance(time.Second))
	if want := int64(2*testBlockSize + len(tailB)); err != nil || freed != want {
		t.Fatalf("second delete: freed %d (want %d), %v", freed, want, err)
	}
	if st, _ := s.Stats(); st.Objects != 0 || st.Blocks != 0 || st.BlockBytes != 0 {
		t.Fatalf("stats after deleting everything: %+v", st)
	}
	_, err = s.Delete(b.ref, clock.Now())
	wantErr(t, err, blocks.ErrNotFound, "second delete of the same ref")
}

func TestPinsProtectBlocks(t *testing.T) {
	clock := newTestClock()
	s := openStore(t, testConfig(t, clock))
	rng := newRand(t)
	o := newObject(t, randomBlocks(rng, 2, 50), clock.Now())
	putObject(t, s, o, UseOwner)
	pinned := blocks.Sum(o.blocks[1])
	s.Pin(pinned, pinned)

	freed, err := s.Delete(o.ref, clock.Now())
	if want := int64(len(o.blocks[0]) + len(o.blocks[2])); err != nil || freed != want {
		t.Fatalf("delete: freed %d (want %d), %v", freed, want, err)
	}
	mustHave(t, s, o.blocks[1:2], true)
	if st, err := s.Sweep(); err != nil || st.Blocks != 0 {
		t.Fatalf("sweep removed a pinned block: %+v %v", st, err)
	}
	s.Unpin(pinned)
	if st, _ := s.Sweep(); st.Blocks != 0 {
		t.Fatal("sweep removed a block still pinned once")
	}
	s.Unpin(pinned)
	s.Unpin(pinned) // one too many: no effect
	if st, err := s.Sweep(); err != nil || st.Blocks != 1 || st.Bytes != testBlockSize {
		t.Fatalf("sweep after unpin: %+v %v", st, err)
	}
	mustHave(t, s, o.blocks, false)
}

func TestPinBeforePut(t *testing.T) {
	clock := newTestClock()
	s := openStore(t, testConfig(t, clock))
	o := newObject(t, randomBlocks(newRand(t), 2, 0), clock.Now())
	// The order a put follows: pin, store, sweep may run, commit, unpin.
	s.Pin(o.m.Blocks...)
	putBlocks(t, s, o.blocks)
	if st, _ := s.Sweep(); st.Blocks != 0 {
		t.Fatal("sweep removed pinned blocks of a put in progress")
	}
	if err := s.Commit(o.ref, o.m, UseOwner); err != nil {
		t.Fatal(err)
	}
	s.Unpin(o.m.Blocks...)
	if st, _ := s.Sweep(); st.Blocks != 0 {
		t.Fatal("sweep removed blocks of a committed object")
	}
	readObject(t, s, o)
}
