package store

import (
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/emerge-dev/emerge/blocks"
)

// Tombstone is a delete recorded by the store.
type Tombstone struct {
	Ref blocks.Ref
	At  time.Time
}

// MaxTombstones caps one Tombstones answer.
const MaxTombstones = 100_000

// Tombstones lists deletes made after since (at most MaxTombstones), so a
// node that was away can apply the deletes it missed.
func (s *Store) Tombstones(since time.Time) ([]Tombstone, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	var out []Tombstone
	err := s.scan([]byte{prefixTomb}, func(_ *badger.Txn, item *badger.Item) error {
		if len(out) >= MaxTombstones {
			return nil
		}
		ref, ok := suffix32(item.Key())
		if !ok {
			return nil
		}
		return item.Value(func(v []byte) error {
			if at, ok := decodeTime(v); ok && at.After(since) {
				out = append(out, Tombstone{Ref: ref, At: at})
			}
			return nil
		})
	}, nil)
	return out, mapErr(err)
}
