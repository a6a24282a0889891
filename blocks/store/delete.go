package store

import (
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/emerge-dev/emerge/blocks"
)

// removeChunk bounds how many blocks one removal step handles while holding
// their stripes, so commits and Pin never wait long.
const removeChunk = 1024

// Delete tombstones ref at time at (the clock if zero) and removes its
// manifest, its uses and every block left with no use and no pin; freed is
// the bytes of the removed blocks. The tombstone is written even when ref
// has no manifest here, so a fetch finishing later cannot bring it back;
// Delete then returns ErrNotFound. A tombstone keeps the latest time it was
// given. A manifest created after at stays: the object was put again after
// the delete (a delete that travelled slowly must not remove a newer put),
// and Delete returns 0, nil.
//
// Steps run in this order so a crash between any two leaves nothing
// visible that lacks blocks: tombstone + manifest, then uses, then blocks
// (leftover uses and blocks are swept).
func (s *Store) Delete(ref blocks.Ref, at time.Time) (freed int64, err error) {
	return s.delete(ref, at, true)
}

// DeleteIfKnown is Delete for a ref this store has a manifest of: for an
// unknown ref it writes nothing and returns ErrNotFound (an rm of a ref
// nobody stored must change nothing).
func (s *Store) DeleteIfKnown(ref blocks.Ref, at time.Time) (freed int64, err error) {
	return s.delete(ref, at, false)
}

func (s *Store) delete(ref blocks.Ref, at time.Time, always bool) (freed int64, err error) {
	if err := s.enter(); err != nil {
		return 0, err
	}
	defer s.leave()
	if at.IsZero() {
		at = s.cfg.Clock()
	}
	ids, err := s.unlinkAll(ref, at, always)
	if err != nil || ids == nil {
		return 0, err
	}
	freed, _, err = s.removeUnused(ids)
	return freed, err
}

// unlinkAll runs the first two steps of Delete under ref's stripe, so no
// commit of ref writes uses that this delete then removes, and returns the
// blocks that may have lost their last use (nil if none).
func (s *Store) unlinkAll(ref blocks.Ref, at time.Time, always bool) ([]blocks.ID, error) {
	defer s.refMu.lock(ref)()
	m, newer, err := s.unlink(ref, at, always)
	if err != nil {
		return nil, fmt.Errorf("blocks: delete %s: %w", ref.Short(), err)
	}
	if newer {
		return nil, nil
	}
	if m == nil {
		return nil, fmt.Errorf("%w: object %s", blocks.ErrNotFound, ref.Short())
	}
	s.objects.Add(-1)
	s.cache.remove(ref)
	ids := distinct(m.Blocks)
	if err := s.deleteUses(ref, ids); err != nil {
		return nil, fmt.Errorf("blocks: delete %s: uses: %w", ref.Short(), err)
	}
	return ids, nil
}

// unlink writes the tombstone and removes the manifest in one transaction,
// returning the manifest it removed (nil if there was none); newer reports
// a manifest created after at, which is kept. The transaction is run again
// if Sweep removed the ref's expired tombstone meanwhile.
func (s *Store) unlink(ref blocks.Ref, at time.Time, always bool) (m *blocks.Manifest, newer bool, err error) {
	for attempt := 0; ; attempt++ {
		m, newer, err = s.unlinkOnce(ref, at, always)
		if !errors.Is(err, badger.ErrConflict) || attempt == maxConflictRetries {
			return m, newer, mapErr(err)
		}
	}
}

func (s *Store) unlinkOnce(ref blocks.Ref, at time.Time, always bool) (m *blocks.Manifest, newer bool, err error) {
	err = s.db.Update(func(txn *badger.Txn) error {
		if !always {
			if m, _, err = getManifest(txn, ref); err != nil || m == nil {
				return err
			}
		}
		old, dead, err := getTime(txn, tombKey(ref))
		if err != nil {
			return err
		}
		if dead && old.After(at) {
			at = old
		}
		if err := txn.Set(tombKey(ref), encodeTime(at)); err != nil {
			return err
		}
		if m, _, err = getManifest(txn, ref); err != nil || m == nil {
			return err
		}
		if m.Created.After(at) {
			newer = true
			return nil
		}
		return txn.Delete(manifestKey(ref))
	})
	return m, newer, err
}

func (s *Store) deleteUses(ref blocks.Ref, ids []blocks.ID) error {
	return s.inBatches(len(ids), func(txn *badger.Txn, i int) error {
		return txn.Delete(useKey(ids[i], ref))
	}, nil)
}

// removeTries is how many times removeUnused tries a chunk whose removal
// conflicted with another transaction.
const removeTries = 3

// removeUnused deletes those of ids (any order, repeats allowed) that are
// stored and have no use and no pin, a chunk at a time. A removal that
// conflicts with a concurrent PutBlock is tried again, removeTries times in
// all, then skipped: the next Sweep (when the store opens) removes it.
func (s *Store) removeUnused(ids []blocks.ID) (freed, removed int64, err error) {
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), removeChunk)]
		ids = ids[len(chunk):]
		f, n, err := s.removeUnusedChunk(chunk)
		for try := 1; errors.Is(err, badger.ErrConflict) && try < removeTries; try++ {
			freed, removed = freed+f, removed+n // a conflicted batch removed nothing; earlier batches did
			f, n, err = s.removeUnusedChunk(chunk)
		}
		freed, removed = freed+f, removed+n
		if errors.Is(err, badger.ErrConflict) {
			// Orphan blocks are otherwise swept only when the store opens.
			s.log.Debug().Err(err).Msg("block removal conflicted again; left for the next sweep")
			continue
		}
		if err != nil {
			return freed, removed, fmt.Errorf("blocks: remove blocks: %w", err)
		}
	}
	return freed, removed, nil
}

// removeUnusedChunk first looks for blocks with no use without any lock:
// most blocks a Release or Sweep looks at have one (a commit wrote it), and
// then it is done. Otherwise it write-locks the stripes of the candidates,
// so that no commit or Reserve writes a use of them until their removal
// commits, checks them again and removes those still unused and unpinned.
func (s *Store) removeUnusedChunk(ids []blocks.ID) (freed, removed int64, err error) {
	cand, err := s.unusedIDs(ids)
	if err != nil || len(cand) == 0 {
		return 0, 0, err
	}
	set := stripesOf(cand)
	defer s.blockMu.writeUses(set)()
	if cand, err = s.unusedIDs(cand); err != nil || len(cand) == 0 {
		return 0, 0, err
	}
	return s.removeBlocks(cand, set)
}

// unusedIDs returns those of ids with no use. It runs in a read
// transaction: an iterator opened in a write transaction re-sorts the
// pending writes each time. Each id gets its own prefix iterator: one
// iterator seeking from id to id would walk every delete marker in between
// (a Delete has just written one per use).
func (s *Store) unusedIDs(ids []blocks.ID) (out []blocks.ID, err error) {
	err = s.db.View(func(txn *badger.Txn) error {
		for _, id := range ids {
			if !hasPrefix(txn, usePrefix(id)) {
				out = append(out, id)
			}
		}
		return nil
	})
	return out, mapErr(err)
}

// removeBlocks deletes those of ids that are stored and not pinned. The
// caller holds the use stripes of set (which covers ids); the pin stripes
// are held across each removal transaction.
func (s *Store) removeBlocks(ids []blocks.ID, set *stripeSet) (freed, removed int64, err error) {
	defer s.blockMu.lockPins(set)()
	var pendBytes, pendN int64
	err = s.inBatches(len(ids), func(txn *badger.Txn, i int) error {
		if s.blockMu.pinned(ids[i]) {
			return nil
		}
		key := blockKey(ids[i])
		n, ok, err := valueLen(txn, key)
		if err != nil || !ok {
			return err
		}
		if err := txn.Delete(key); err != nil {
			return err
		}
		pendBytes, pendN = pendBytes+n, pendN+1
		return nil
	}, func() {
		freed, removed = freed+pendBytes, removed+pendN
		if pendN > 0 {
			s.removals.Add(1)
		}
		s.blocks.Add(-pendN)
		s.blockBytes.Add(-pendBytes)
		pendBytes, pendN = 0, 0
	})
	return freed, removed, err
}

// Tombstone returns the time ref was deleted at, if it has a tombstone.
func (s *Store) Tombstone(ref blocks.Ref) (at time.Time, ok bool, err error) {
	if err := s.enter(); err != nil {
		return at, false, err
	}
	defer s.leave()
	err = s.db.View(func(txn *badger.Txn) error {
		at, ok, err = getTime(txn, tombKey(ref))
		return err
	})
	return at, ok, mapErr(err)
}
