package blocks

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"
)

// Reserve writes uses of ids for ref ahead of its manifest: a replica holder
// receiving the blocks of a put in progress calls it so that Sweep keeps
// them. Uses with no manifest are swept after PendingGrace. If ref is
// already committed the stronger of the two uses is written.
func (s *Store) Reserve(ref Ref, ids []ID, use Use) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if err := use.check(); err != nil {
		return err
	}
	if len(ids) > MaxBlocks {
		return fmt.Errorf("%w: %d ids, limit %d", ErrInvalidArgument, len(ids), MaxBlocks)
	}
	if err := s.space.take(int64(len(ids)) * useRecordBytes); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, err := s.storedUse(ref)
	if err != nil {
		return err
	}
	if old != 0 {
		use = stronger(use, old)
	}
	return s.writeUses(ref, ids, use)
}

// Commit makes an object visible: it checks that every block is stored
// (else ErrMissingBlocks), writes a use per block (in as many transactions
// as Badger needs) and writes the manifest record last, so a failure at any
// point (ErrNoSpace, a crash) leaves no half object visible.
//
// ref must be m.Ref() (else ErrBadManifest). A tombstone at or after
// m.Created fails the commit with ErrDeleted, so a fetch that started before
// a delete cannot bring the object back; a later Created (a fresh put)
// clears the tombstone. Committing a ref again merges: the larger Replicas,
// the later Created, the stronger Use; it checks the blocks and writes the
// uses again (after CommitHeld, this is how an object becomes whole). Block
// lengths are not checked against the manifest.
func (s *Store) Commit(ref Ref, m *Manifest, use Use) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if err := use.check(); err != nil {
		return err
	}
	if err := checkRef(ref, m); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.planCommit(ref, m, use)
	if err != nil {
		return err
	}
	if err := s.applyCommit(ref, p); err != nil {
		return fmt.Errorf("blocks: commit %s: %w", ref.Short(), err)
	}
	if p.isNew {
		s.objects.Add(1)
	}
	return nil
}

func checkRef(ref Ref, m *Manifest) error {
	got, err := m.Ref()
	if err != nil {
		return err
	}
	if got != ref {
		return fmt.Errorf("%w: manifest hashes to %s, committed as %s", ErrBadManifest, got.Short(), ref.Short())
	}
	return nil
}

// commitPlan is what Commit will write, decided under s.mu.
type commitPlan struct {
	m         *Manifest // merged with the stored manifest, if any
	use       Use
	isNew     bool // no manifest was stored
	clearTomb bool
}

func (s *Store) planCommit(ref Ref, m *Manifest, use Use) (p commitPlan, err error) {
	p = commitPlan{m: m, use: use, isNew: true}
	err = s.db.View(func(txn *badger.Txn) error {
		tomb, dead, err := getTime(txn, tombKey(ref))
		if err != nil {
			return err
		}
		if dead && unixNano(tomb) >= unixNano(m.Created) {
			return fmt.Errorf("%w: %s deleted at %s, manifest created %s", ErrDeleted, ref.Short(), tomb, m.Created)
		}
		p.clearTomb = dead
		old, oldUse, err := getManifest(txn, ref)
		if err != nil || old == nil {
			return err
		}
		p.merge(old, oldUse)
		return nil
	})
	return p, mapErr(err)
}

// merge folds the stored manifest into the plan.
func (p *commitPlan) merge(old *Manifest, oldUse Use) {
	mm := *p.m
	mm.Replicas = max(mm.Replicas, old.Replicas)
	if old.Created.After(mm.Created) {
		mm.Created = old.Created
	}
	p.m, p.isNew = &mm, false
	p.use = stronger(p.use, oldUse)
}

func (s *Store) applyCommit(ref Ref, p commitPlan) error {
	rec, err := p.m.MarshalRecord()
	if err != nil {
		return err
	}
	if int64(len(rec))+1 > s.cfg.maxValue() {
		return fmt.Errorf("%w: record of %d bytes, this store takes at most %d", ErrBadManifest, len(rec), s.cfg.maxValue())
	}
	// A stored manifest does not prove its blocks are here (CommitHeld
	// stores partial objects), so a re-commit checks and writes it all.
	if err := s.space.take(int64(len(p.m.Blocks))*useRecordBytes + int64(len(rec))); err != nil {
		return err
	}
	if err := s.checkBlocks(p.m.Blocks); err != nil {
		return err
	}
	if err := s.writeUses(ref, p.m.Blocks, p.use); err != nil {
		return err
	}
	return mapErr(s.db.Update(func(txn *badger.Txn) error {
		if p.clearTomb {
			if err := txn.Delete(tombKey(ref)); err != nil {
				return err
			}
		}
		return txn.Set(manifestKey(ref), append([]byte{byte(p.use)}, rec...))
	}))
}

// checkBlocks returns ErrMissingBlocks unless every block is stored.
func (s *Store) checkBlocks(ids []ID) error {
	missing, first := 0, ID{}
	err := s.db.View(func(txn *badger.Txn) error {
		for _, id := range ids {
			ok, err := exists(txn, blockKey(id))
			if err != nil {
				return err
			}
			if !ok && missing == 0 {
				first = id
			}
			if !ok {
				missing++
			}
		}
		return nil
	})
	if err != nil {
		return mapErr(err)
	}
	if missing > 0 {
		return fmt.Errorf("%w: %d of %d blocks, first %s", ErrMissingBlocks, missing, len(ids), first.Short())
	}
	return nil
}

// writeUses writes a use of each block for ref, stamped with the clock.
func (s *Store) writeUses(ref Ref, ids []ID, use Use) error {
	val := encodeUse(use, s.cfg.Clock())
	return s.inBatches(len(ids), func(txn *badger.Txn, i int) error {
		return txn.Set(useKey(ids[i], ref), val)
	}, nil)
}

// storedUse returns the use of ref's manifest, or 0 if none is stored.
func (s *Store) storedUse(ref Ref) (use Use, err error) {
	err = s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(manifestKey(ref))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			if len(v) > 0 {
				use = Use(v[0])
			}
			return nil
		})
	})
	return use, mapErr(err)
}

// Manifest returns ref's manifest and use. It returns ErrDeleted when ref
// is tombstoned and has no manifest, ErrNotFound when it is unknown.
func (s *Store) Manifest(ref Ref) (*Manifest, Use, error) {
	if err := s.enter(); err != nil {
		return nil, 0, err
	}
	defer s.leave()
	var m *Manifest
	var use Use
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		if m, use, err = getManifest(txn, ref); err != nil || m != nil {
			return err
		}
		_, dead, err := getTime(txn, tombKey(ref))
		switch {
		case err != nil:
			return mapErr(err)
		case dead:
			return fmt.Errorf("%w: %s", ErrDeleted, ref.Short())
		}
		return fmt.Errorf("%w: object %s", ErrNotFound, ref.Short())
	})
	return m, use, err
}

// getManifest reads and decodes ref's manifest record; nil if absent.
func getManifest(txn *badger.Txn, ref Ref) (m *Manifest, use Use, err error) {
	item, err := txn.Get(manifestKey(ref))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	err = item.Value(func(v []byte) error {
		m, use, err = decodeStored(ref, v)
		return err
	})
	return m, use, err
}

// decodeStored decodes a manifest value: the use byte, then the record.
func decodeStored(ref Ref, v []byte) (*Manifest, Use, error) {
	if len(v) < 2 {
		return nil, 0, fmt.Errorf("%w: manifest %s of %d bytes", errCorrupt, ref.Short(), len(v))
	}
	m, got, err := UnmarshalRecord(v[1:])
	if err != nil {
		return nil, 0, fmt.Errorf("%w: manifest %s: %w", errCorrupt, ref.Short(), err)
	}
	if got != ref {
		return nil, 0, fmt.Errorf("%w: manifest stored under %s hashes to %s", errCorrupt, ref.Short(), got.Short())
	}
	return m, Use(v[0]), nil
}

// distinct returns the ids sorted with duplicates removed (a copy).
func distinct(ids []ID) []ID {
	out := slices.Clone(ids)
	slices.SortFunc(out, func(a, b ID) int { return bytes.Compare(a[:], b[:]) })
	return slices.Compact(out)
}
