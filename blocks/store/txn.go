package store

import (
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// inBatches applies fn to items 0..n-1 in as few write transactions as
// Badger allows: when fn reports ErrTxnTooBig (a transaction holds at most
// 15% of MemTableSize) it commits what it has and runs fn for the same item
// again in a new transaction. fn must therefore be idempotent. committed,
// if not nil, runs after each successful commit. An object's 10^5 block
// uses thus go in a few transactions whatever the memtable size.
func (s *Store) inBatches(n int, fn func(txn *badger.Txn, i int) error, committed func()) error {
	txn := s.db.NewTransaction(true)
	defer func() { txn.Discard() }()
	from := 0
	for i := 0; i < n; {
		err := fn(txn, i)
		if errors.Is(err, badger.ErrTxnTooBig) && i > from {
			if err := commitTxn(txn, committed); err != nil {
				return err
			}
			txn, from = s.db.NewTransaction(true), i
			s.splits.Add(1)
			continue
		}
		if err != nil {
			return mapErr(err)
		}
		i++
	}
	return commitTxn(txn, committed)
}

func commitTxn(txn *badger.Txn, committed func()) error {
	if err := txn.Commit(); err != nil {
		return mapErr(err)
	}
	if committed != nil {
		committed()
	}
	return nil
}

// exists reports whether key is present.
func exists(txn *badger.Txn, key []byte) (bool, error) {
	_, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	return err == nil, err
}

// hasPrefix reports whether any key starts with prefix.
func hasPrefix(txn *badger.Txn, prefix []byte) bool {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	defer it.Close()
	it.Rewind()
	return it.Valid()
}

// valueLen returns the length of key's value without copying it (the
// value log is mmapped: only the page holding the entry header is read).
func valueLen(txn *badger.Txn, key []byte) (n int64, ok bool, err error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	err = item.Value(func(v []byte) error { n = int64(len(v)); return nil })
	return n, err == nil, err
}

// getTime reads a time record (a tombstone).
func getTime(txn *badger.Txn, key []byte) (t time.Time, ok bool, err error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return t, false, nil
	}
	if err != nil {
		return t, false, err
	}
	err = item.Value(func(v []byte) error {
		if t, ok = decodeTime(v); !ok {
			return fmt.Errorf("%w: time record %x of %d bytes", errCorrupt, key, len(v))
		}
		return nil
	})
	return t, ok, err
}

// errCorrupt marks a stored record this code did not write.
var errCorrupt = errors.New("blocks: corrupt record")
