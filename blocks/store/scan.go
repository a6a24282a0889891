package store

import (
	"github.com/dgraph-io/badger/v4"
	"github.com/emerge-dev/emerge/blocks"
)

// scanChunk is how many keys one read transaction of a scan visits. Short
// read transactions keep Badger's conflict and version bookkeeping small
// and let writers interleave with a long scan.
const scanChunk = 4096

// scan visits the keys under prefix in order, in read transactions of at
// most scanChunk keys, calling flush (if not nil) after each transaction.
// visit gets the transaction (read-only: it may open more iterators) and
// must not keep item past its return. scan stops with ErrClosed when Close
// begins.
func (s *Store) scan(prefix []byte, visit func(txn *badger.Txn, item *badger.Item) error, flush func() error) error {
	start := prefix
	for start != nil {
		if s.closing() {
			return blocks.ErrClosed
		}
		next, err := s.scanOne(prefix, start, visit)
		if err != nil {
			return mapErr(err)
		}
		if flush != nil {
			if err := flush(); err != nil {
				return err
			}
		}
		start = next
	}
	return nil
}

// scanOne visits up to scanChunk keys from start and returns the key to
// resume at, or nil at the end of the prefix.
func (s *Store) scanOne(prefix, start []byte, visit func(*badger.Txn, *badger.Item) error) (next []byte, err error) {
	err = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		n := 0
		for it.Seek(start); it.Valid(); it.Next() {
			if n == scanChunk {
				next = it.Item().KeyCopy(nil)
				return nil
			}
			if err := visit(txn, it.Item()); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return next, err
}

// recount sets the object and block counters from what is stored. Called
// once by OpenStore, before anything else can write.
//
// A block whose value cannot be read, or reads empty (no block is empty),
// was lost by Badger (a damaged value log is truncated at open): it is
// returned so the open can quarantine it.
func (s *Store) recount() (lost []blocks.ID, err error) {
	var objects, nblocks, bytes int64
	err = s.scan([]byte{prefixManifest}, func(*badger.Txn, *badger.Item) error {
		objects++
		return nil
	}, nil)
	if err != nil {
		return nil, err
	}
	err = s.scan([]byte{prefixBlock}, func(_ *badger.Txn, item *badger.Item) error {
		nblocks++
		verr := item.Value(func(v []byte) error {
			bytes += int64(len(v))
			if len(v) == 0 {
				return errLost
			}
			return nil
		})
		if verr != nil {
			id, _ := suffix32(item.Key())
			lost = append(lost, id)
		}
		return nil
	}, nil)
	s.objects.Store(objects)
	s.blocks.Store(nblocks)
	s.blockBytes.Store(bytes)
	return lost, err
}
