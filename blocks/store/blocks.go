package store

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/emerge-dev/emerge/blocks"
)

// PutBlock stores data under id. It trusts id: bytes received from a peer
// must pass Verify first. Storing a block that is already present is a
// no-op. data may be reused as soon as PutBlock returns.
//
// A block with no use and no pin may be removed by Delete or Sweep at any
// time: pin the ids of a put or fetch in progress (Pin) before storing them
// and unpin after Reserve or Commit.
func (s *Store) PutBlock(id blocks.ID, data []byte) error {
	return s.PutBlocks([]blocks.ID{id}, [][]byte{data})
}

// PutBlocks stores data[i] under ids[i] as PutBlock does, in as few
// transactions as Badger takes (usually one): Badger then encodes the
// values through one buffer and commits once, where a PutBlock per block
// grows a fresh buffer and commits for each. Blocks stored before an
// error stay stored.
func (s *Store) PutBlocks(ids []blocks.ID, data [][]byte) error {
	if len(ids) != len(data) {
		return fmt.Errorf("%w: %d ids for %d blocks", blocks.ErrInvalidArgument, len(ids), len(data))
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	max := min(blocks.MaxBlockSize, s.cfg.maxValue())
	for i, d := range data {
		if int64(len(d)) > max {
			return fmt.Errorf("%w: block %s of %d bytes, this store takes at most %d", blocks.ErrBadBlockSize, ids[i].Short(), len(d), max)
		}
	}
	for len(ids) > 0 {
		n, err := s.putSome(ids, data)
		if err != nil {
			return err
		}
		ids, data = ids[n:], data[n:]
	}
	return nil
}

// putSome stores a prefix of the blocks in one transaction (as many as
// Badger takes, at least one) and returns how many it handled.
func (s *Store) putSome(ids []blocks.ID, data [][]byte) (int, error) {
	for attempt := 0; ; attempt++ {
		n, created, err := s.putOnce(ids, data)
		if errors.Is(err, badger.ErrConflict) && attempt < 8 {
			continue // a concurrent put or removal of one of the ids: look again
		}
		if err != nil {
			what := "block " + ids[0].Short()
			if len(ids) > 1 {
				what = fmt.Sprintf("%d blocks from %s", len(ids), ids[0].Short())
			}
			return 0, fmt.Errorf("blocks: put %s: %w", what, mapErr(err))
		}
		for i, c := range created {
			if c {
				s.blocks.Add(1)
				s.blockBytes.Add(int64(len(data[i])))
			}
		}
		return n, nil
	}
}

// putOnce writes a prefix of the blocks, those that fit one transaction,
// skipping the ones present. Reading each key first makes a concurrent put
// of the same id conflict, so the counters stay exact.
func (s *Store) putOnce(ids []blocks.ID, data [][]byte) (n int, created []bool, err error) {
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	created = make([]bool, 0, len(ids))
	seen := make(map[blocks.ID]bool, len(ids))
	for n = 0; n < len(ids); n++ {
		key := blockKey(ids[n])
		ok, err := exists(txn, key)
		if err != nil {
			return 0, nil, err
		}
		if ok || seen[ids[n]] {
			created = append(created, false)
			continue
		}
		if err := s.space.take(int64(len(data[n])) + blockRecordBytes); err != nil {
			return 0, nil, err
		}
		if err := txn.Set(key, data[n]); errors.Is(err, badger.ErrTxnTooBig) && n > 0 {
			break // the rest goes in the next transaction
		} else if err != nil {
			return 0, nil, err
		}
		seen[ids[n]] = true
		created = append(created, true)
	}
	return n, created, txn.Commit()
}

// GetBlock returns the block's bytes, reusing dst's capacity when it is big
// enough. It returns ErrNotFound if the block is not stored. Every read is
// verified against the id: a copy that does not match (bytes flipped on
// disk, a value Badger lost) is quarantined and reported as not found
// (wrapping ErrQuarantined), so no caller ever sees wrong bytes and a get
// fetches the block again from a good copy.
func (s *Store) GetBlock(id blocks.ID, dst []byte) ([]byte, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(blockKey(id))
		if err != nil {
			return err
		}
		dst, err = item.ValueCopy(dst)
		return err
	})
	if err != nil {
		return dst, blockErr(id, err)
	}
	if verr := blocks.Verify(id, dst); verr != nil {
		s.quarantine(id, verr.Error())
		return nil, fmt.Errorf("%w: %w: block %s: %v", blocks.ErrNotFound, ErrQuarantined, id.Short(), verr)
	}
	return dst, nil
}

// GetBlockUnverified is GetBlock without the hash check, for a reader that
// verifies the bytes itself and reports a mismatch back: a node serving a
// peer (the receiver hashes every block and sends a suspect repair hint,
// whose check quarantines the bad copy through GetBlock). Bytes it returns
// may be wrong; never hand them to a user unchecked.
func (s *Store) GetBlockUnverified(id blocks.ID, dst []byte) ([]byte, error) {
	return s.getBlockUnverified(id, dst)
}

// getBlockUnverified is GetBlock without the hash check, for callers that
// verify the bytes themselves (the scrub).
func (s *Store) getBlockUnverified(id blocks.ID, dst []byte) ([]byte, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(blockKey(id))
		if err != nil {
			return err
		}
		dst, err = item.ValueCopy(dst)
		return err
	})
	return dst, blockErr(id, err)
}

// HasBlocks reports for each id whether the block is stored.
func (s *Store) HasBlocks(ids []blocks.ID) ([]bool, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	has := make([]bool, len(ids))
	err := s.db.View(func(txn *badger.Txn) error {
		for i, id := range ids {
			ok, err := exists(txn, blockKey(id))
			if err != nil {
				return err
			}
			has[i] = ok
		}
		return nil
	})
	return has, mapErr(err)
}

// BlockSize returns the stored length of a block, or ErrNotFound. It reads
// no block data.
func (s *Store) BlockSize(id blocks.ID) (int, error) {
	if err := s.enter(); err != nil {
		return 0, err
	}
	defer s.leave()
	var n int64
	err := s.db.View(func(txn *badger.Txn) error {
		var ok bool
		var err error
		n, ok, err = valueLen(txn, blockKey(id))
		if err == nil && !ok {
			err = badger.ErrKeyNotFound
		}
		return err
	})
	return int(n), blockErr(id, err)
}

func blockErr(id blocks.ID, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, badger.ErrKeyNotFound):
		return fmt.Errorf("%w: block %s", blocks.ErrNotFound, id.Short())
	default:
		return fmt.Errorf("blocks: block %s: %w", id.Short(), mapErr(err))
	}
}

// Pin protects blocks from Delete and Sweep until a matching Unpin, whether
// or not they are stored yet. Pins are counted and live in memory only.
func (s *Store) Pin(ids ...blocks.ID) {
	for _, id := range ids {
		s.blockMu.pin(id)
	}
}

// Unpin releases one Pin of each id; unpinning an unpinned id does nothing.
func (s *Store) Unpin(ids ...blocks.ID) {
	for _, id := range ids {
		s.blockMu.unpin(id)
	}
}
