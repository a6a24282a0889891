package blocks

import (
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// CommitHeld commits the manifest of an object this store holds only part
// of: a placement owner of some of its blocks, a node whose fetch is under
// way, or one that only keeps the manifest so others can find the object.
// Uses are written for the blocks that are present; blocks stored later are
// tied to ref with Reserve. The tombstone and merge rules of Commit apply.
//
// When pending is not zero, uses reserved under pending for the object's
// blocks (a put whose ref was not known while its blocks were pushed) are
// moved to ref. It returns how many of the object's blocks are held.
func (s *Store) CommitHeld(ref Ref, m *Manifest, use Use, pending Ref) (held int, err error) {
	if err := s.enter(); err != nil {
		return 0, err
	}
	defer s.leave()
	if err := use.check(); err != nil {
		return 0, err
	}
	if err := checkRef(ref, m); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.planCommit(ref, m, use)
	if err != nil {
		return 0, err
	}
	present, err := s.presentBlocks(distinct(m.Blocks))
	if err != nil {
		return 0, err
	}
	if err := s.applyHeld(ref, p, present, pending); err != nil {
		return 0, fmt.Errorf("blocks: commit %s: %w", ref.Short(), err)
	}
	if p.isNew {
		s.objects.Add(1)
	}
	return len(present), nil
}

func (s *Store) applyHeld(ref Ref, p commitPlan, present []ID, pending Ref) error {
	rec, err := p.m.MarshalRecord()
	if err != nil {
		return err
	}
	if err := s.space.take(int64(len(present))*useRecordBytes + int64(len(rec))); err != nil {
		return err
	}
	if err := s.writeUses(ref, present, p.use); err != nil {
		return err
	}
	if !pending.IsZero() {
		if err := s.deleteUses(pending, distinct(p.m.Blocks)); err != nil {
			return err
		}
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

// presentBlocks returns those of ids that are stored.
func (s *Store) presentBlocks(ids []ID) ([]ID, error) {
	var out []ID
	err := s.db.View(func(txn *badger.Txn) error {
		for _, id := range ids {
			ok, err := exists(txn, blockKey(id))
			if err != nil {
				return err
			}
			if ok {
				out = append(out, id)
			}
		}
		return nil
	})
	return out, mapErr(err)
}
