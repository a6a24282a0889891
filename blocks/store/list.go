package store

import (
	"bytes"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/emerge-dev/emerge/blocks"
)

// MaxList caps the page size of List.
const MaxList = 1000

// ObjectInfo summarises one committed object.
type ObjectInfo struct {
	Ref         blocks.Ref
	Size        int64
	Blocks      int
	BlockSize   int
	Replicas    int
	Created     time.Time
	ContentType string
	Meta        map[string]string
	Use         Use
}

// List returns up to limit committed objects with refs after after, in ref
// order; pass the last ref returned to get the next page. A limit outside
// [1, MaxList] means MaxList. It reads manifest headers only, not block
// lists.
func (s *Store) List(after blocks.Ref, limit int) ([]ObjectInfo, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	if limit <= 0 || limit > MaxList {
		limit = MaxList
	}
	var out []ObjectInfo
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixManifest}})
		defer it.Close()
		start := manifestKey(after)
		for it.Seek(start); it.Valid() && len(out) < limit; it.Next() {
			if bytes.Equal(it.Item().Key(), start) {
				continue
			}
			info, err := itemInfo(it.Item())
			if err != nil {
				return err
			}
			out = append(out, info)
		}
		return nil
	})
	return out, mapErr(err)
}

func itemInfo(item *badger.Item) (info ObjectInfo, err error) {
	ref, ok := suffix32(item.Key())
	if !ok {
		return info, fmt.Errorf("%w: manifest key %x", errCorrupt, item.Key())
	}
	err = item.Value(func(v []byte) error {
		info, err = decodeInfo(v)
		return err
	})
	info.Ref = ref
	return info, err
}

// decodeInfo reads the header fields of a stored manifest value without
// materialising its block list.
func decodeInfo(v []byte) (ObjectInfo, error) {
	if len(v) < 2 {
		return ObjectInfo{}, fmt.Errorf("%w: manifest value of %d bytes", errCorrupt, len(v))
	}
	sum, err := blocks.DecodeSummary(v[1:])
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("%w: %w", errCorrupt, err)
	}
	return ObjectInfo{
		Size:        sum.Size,
		Blocks:      sum.Blocks,
		BlockSize:   sum.BlockSize,
		Replicas:    sum.Replicas,
		Created:     sum.Created,
		ContentType: sum.ContentType,
		Meta:        sum.Meta,
		Use:         Use(v[0]),
	}, nil
}
