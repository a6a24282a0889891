package store

import (
	"github.com/dgraph-io/badger/v4"
	"github.com/emerge-dev/emerge/blocks"
)

// Holds reports for each id how this store holds the block: 0 when it is
// not stored, else the strongest use any object has of it (UseOwner beats
// UseCache; a block stored with no use yet, a put in progress, counts as
// UseCache). It reads keys and use records, not block data, so a damaged
// copy the scrub has not found yet still counts.
func (s *Store) Holds(ids []blocks.ID) ([]Use, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	out := make([]Use, len(ids))
	err := s.db.View(func(txn *badger.Txn) error {
		for i, id := range ids {
			ok, err := exists(txn, blockKey(id))
			if err != nil {
				return err
			}
			if ok {
				out[i] = strongestUse(txn, id)
			}
		}
		return nil
	})
	return out, mapErr(err)
}

// strongestUse returns UseOwner if any use of id is an owner use, else
// UseCache.
func strongestUse(txn *badger.Txn, id blocks.ID) Use {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: usePrefix(id), PrefetchValues: false})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		owner := false
		it.Item().Value(func(v []byte) error {
			owner = len(v) > 0 && Use(v[0]) == UseOwner
			return nil
		})
		if owner {
			return UseOwner
		}
	}
	return UseCache
}

// DropUses removes the uses of ids held under key (a put's pending key that
// was aborted, a copy trimmed above its target) and the blocks left with no
// use and no pin. It returns the bytes freed.
func (s *Store) DropUses(key blocks.Ref, ids []blocks.ID) (int64, error) {
	if err := s.enter(); err != nil {
		return 0, err
	}
	defer s.leave()
	ids = distinct(ids)
	unlock := s.refMu.lock(key)
	err := s.deleteUses(key, ids)
	unlock()
	if err != nil {
		return 0, err
	}
	freed, _, err := s.removeUnused(ids)
	return freed, err
}
