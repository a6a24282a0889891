package store

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/emerge-dev/emerge/blocks"
)

// MaxMetaName caps the name of a meta record.
const MaxMetaName = 256

// PutMeta stores a small node-private record (the node id, a registry
// snapshot) under name, replacing any previous value. It is not subject to
// DiskReserve.
func (s *Store) PutMeta(name string, val []byte) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if err := checkMetaName(name); err != nil {
		return err
	}
	if int64(len(val)) > s.cfg.maxValue() {
		return fmt.Errorf("%w: meta %q of %d bytes, limit %d", blocks.ErrInvalidArgument, name, len(val), s.cfg.maxValue())
	}
	err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(metaKey(name), val) })
	if err != nil {
		return fmt.Errorf("blocks: put meta %q: %w", name, mapErr(err))
	}
	return nil
}

// GetMeta returns the record stored under name, or ErrNotFound.
func (s *Store) GetMeta(name string) (val []byte, err error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	if err := checkMetaName(name); err != nil {
		return nil, err
	}
	err = s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(metaKey(name))
		if err != nil {
			return err
		}
		val, err = item.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, fmt.Errorf("%w: meta %q", blocks.ErrNotFound, name)
	}
	return val, mapErr(err)
}

func checkMetaName(name string) error {
	if name == "" || len(name) > MaxMetaName {
		return fmt.Errorf("%w: meta name must be 1..%d bytes", blocks.ErrInvalidArgument, MaxMetaName)
	}
	return nil
}
