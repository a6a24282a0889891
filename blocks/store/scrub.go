package store

import (
	"github.com/dgraph-io/badger/v4"
	"github.com/emerge-dev/emerge/blocks"
)

// ScrubBatch is what one ScrubNext call checked.
type ScrubBatch struct {
	Next    blocks.ID // where to resume: after this id
	Checked int       // blocks re-hashed
	Bytes   int64     // their bytes
	Bad     int       // copies that failed and were quarantined
	Done    bool      // the end of the block range was reached
}

// ScrubNext re-hashes up to limit stored blocks with ids after from (the
// zero id: from the start), in id order, and quarantines those that do
// not match (as a read would). Resume with the returned Next.
func (s *Store) ScrubNext(from blocks.ID, limit int) (ScrubBatch, error) {
	var b ScrubBatch
	ids, err := s.blockIDsAfter(from, limit)
	if err != nil {
		return b, err
	}
	b.Done = len(ids) < limit
	var buf []byte
	for _, id := range ids {
		data, err := s.getBlockUnverified(id, buf)
		b.Next = id
		if err != nil {
			continue // removed meanwhile
		}
		buf = data
		b.Checked++
		b.Bytes += int64(len(data))
		if verr := blocks.Verify(id, data); verr != nil {
			if err := s.Quarantine(id, "scrub: "+verr.Error()); err != nil {
				return b, err
			}
			b.Bad++
		}
	}
	return b, nil
}

// blockIDsAfter lists up to limit block ids greater than from.
func (s *Store) blockIDsAfter(from blocks.ID, limit int) ([]blocks.ID, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	var out []blocks.ID
	start := blockKey(from)
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixBlock}})
		defer it.Close()
		for it.Seek(start); it.Valid() && len(out) < limit; it.Next() {
			id, ok := suffix32(it.Item().Key())
			if !ok || (id == from && from != (blocks.ID{})) {
				continue
			}
			out = append(out, id)
		}
		return nil
	})
	return out, mapErr(err)
}
