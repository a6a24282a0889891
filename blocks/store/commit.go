package store

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"
	"github.com/emerge-dev/emerge/blocks"
)

// Reserve writes uses of ids for ref ahead of its manifest: a replica holder
// receiving the blocks of a put in progress calls it so that Sweep keeps
// them. Uses with no manifest are swept after PendingGrace. If ref is
// already committed the stronger of the two uses is written. A block of ids
// that is stored when Reserve returns stays until the use is removed.
func (s *Store) Reserve(ref blocks.Ref, ids []blocks.ID, use Use) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if err := use.check(); err != nil {
		return err
	}
	if len(ids) > blocks.MaxBlocks {
		return fmt.Errorf("%w: %d ids, limit %d", blocks.ErrInvalidArgument, len(ids), blocks.MaxBlocks)
	}
	if err := s.space.take(int64(len(ids)) * useRecordBytes); err != nil {
		return err
	}
	defer s.refMu.lock(ref)()
	defer s.blockMu.readUses(ids)()
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
// (else ErrMissingBlocks), writes a use per block and writes the manifest
// record, in one transaction when Badger takes it all, else the uses in as
// many transactions as Badger needs and the manifest last, so a failure at
// any point (ErrNoSpace, a crash) leaves no half object visible.
//
// ref must be m.Ref() (else ErrBadManifest). A tombstone at or after
// m.Created fails the commit with ErrDeleted, so a fetch that started before
// a delete cannot bring the object back; a later Created (a fresh put)
// clears the tombstone. Committing a ref again merges: the larger Replicas,
// the later Created, the stronger Use; it checks the blocks and writes the
// uses again (after CommitHeld, this is how an object becomes whole). Block
// lengths are not checked against the manifest.
//
// Commits of different refs run in parallel; those of one ref run one at a
// time.
func (s *Store) Commit(ref blocks.Ref, m *blocks.Manifest, use Use) error {
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
	_, err := s.commit(commitReq{ref: ref, m: m, use: use})
	return err
}

func checkRef(ref blocks.Ref, m *blocks.Manifest) error {
	got, err := m.Ref()
	if err != nil {
		return err
	}
	if got != ref {
		return fmt.Errorf("%w: manifest hashes to %s, committed as %s", blocks.ErrBadManifest, got.Short(), ref.Short())
	}
	return nil
}

// writeUses writes a use of each block for ref, stamped with the clock.
func (s *Store) writeUses(ref blocks.Ref, ids []blocks.ID, use Use) error {
	val := encodeUse(use, s.cfg.Clock())
	return s.inBatches(len(ids), func(txn *badger.Txn, i int) error {
		return txn.Set(useKey(ids[i], ref), val)
	}, nil)
}

// storedUse returns the use of ref's manifest, or 0 if none is stored.
func (s *Store) storedUse(ref blocks.Ref) (use Use, err error) {
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
func (s *Store) Manifest(ref blocks.Ref) (*blocks.Manifest, Use, error) {
	if err := s.enter(); err != nil {
		return nil, 0, err
	}
	defer s.leave()
	var m *blocks.Manifest
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
			return fmt.Errorf("%w: %s", blocks.ErrDeleted, ref.Short())
		}
		return fmt.Errorf("%w: object %s", blocks.ErrNotFound, ref.Short())
	})
	if err == nil && use == UseCache {
		s.cache.touch(ref, s.cfg.Clock()) // a read: least recently read copies go first
	}
	return m, use, err
}

// getManifest reads and decodes ref's manifest record; nil if absent.
func getManifest(txn *badger.Txn, ref blocks.Ref) (m *blocks.Manifest, use Use, err error) {
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
func decodeStored(ref blocks.Ref, v []byte) (*blocks.Manifest, Use, error) {
	if len(v) < 2 {
		return nil, 0, fmt.Errorf("%w: manifest %s of %d bytes", errCorrupt, ref.Short(), len(v))
	}
	m, got, err := blocks.UnmarshalRecord(v[1:])
	if err != nil {
		return nil, 0, fmt.Errorf("%w: manifest %s: %w", errCorrupt, ref.Short(), err)
	}
	if got != ref {
		return nil, 0, fmt.Errorf("%w: manifest stored under %s hashes to %s", errCorrupt, ref.Short(), got.Short())
	}
	return m, Use(v[0]), nil
}

// distinct returns the ids sorted with duplicates removed (a copy).
func distinct(ids []blocks.ID) []blocks.ID {
	out := slices.Clone(ids)
	slices.SortFunc(out, func(a, b blocks.ID) int { return bytes.Compare(a[:], b[:]) })
	return slices.Compact(out)
}
