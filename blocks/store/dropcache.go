package store

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/emerge-dev/emerge/blocks"
)

// ErrNotCached: DropCache of an object this store holds as an owner copy.
var ErrNotCached = errors.New("blocks: not a cached copy")

// DropCache removes this store's cached copy of ref (an object committed
// with UseCache, such as a get leaves behind): its manifest, its cache
// uses, then every block left with no use and no pin; freed is the bytes of
// the removed blocks. Unlike Delete it writes no tombstone and concerns this
// store only: the object stays wherever it is owned, and a later get
// fetches it again. An object held as an owner copy is left alone
// (ErrNotCached); an unknown one is ErrNotFound. Owner uses of ref's blocks
// (a push making this node an owner, under way) are kept.
func (s *Store) DropCache(ref blocks.Ref) (freed int64, err error) {
	if err := s.enter(); err != nil {
		return 0, err
	}
	defer s.leave()
	ids, err := s.uncache(ref)
	if err != nil {
		return 0, err
	}
	freed, _, err = s.removeUnused(ids)
	return freed, err
}

// uncache removes ref's manifest and cache uses under ref's stripe, so no
// commit of ref runs in between, and returns the object's blocks.
func (s *Store) uncache(ref blocks.Ref) ([]blocks.ID, error) {
	defer s.refMu.lock(ref)()
	var m *blocks.Manifest
	err := retryConflict(func() error {
		return s.db.Update(func(txn *badger.Txn) error {
			var use Use
			var err error
			if m, use, err = getManifest(txn, ref); err != nil || m == nil {
				return err
			}
			if use != UseCache {
				return fmt.Errorf("%w: %s is held as %s", ErrNotCached, ref.Short(), use)
			}
			return txn.Delete(manifestKey(ref))
		})
	})
	if err != nil || m == nil {
		if errors.Is(err, ErrNotCached) || err == nil {
			s.cache.remove(ref)
		}
		if err == nil {
			err = fmt.Errorf("%w: object %s", blocks.ErrNotFound, ref.Short())
		}
		return nil, fmt.Errorf("blocks: drop cached %s: %w", ref.Short(), mapErr(err))
	}
	s.objects.Add(-1)
	s.cache.remove(ref)
	ids := distinct(m.Blocks)
	err = retryConflict(func() error {
		return s.inBatches(len(ids), func(txn *badger.Txn, i int) error {
			return deleteCacheUse(txn, useKey(ids[i], ref))
		}, nil)
	})
	if err != nil {
		return nil, fmt.Errorf("blocks: drop cached %s: uses: %w", ref.Short(), err)
	}
	return ids, nil
}

// deleteCacheUse deletes the use at key if it is a cache use.
func deleteCacheUse(txn *badger.Txn, key []byte) error {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var use Use
	if err := item.Value(func(v []byte) error { use, _, _ = decodeUse(v); return nil }); err != nil {
		return err
	}
	if use != UseCache {
		return nil
	}
	return txn.Delete(key)
}

// retryConflict runs fn again while it loses a conflict (with Sweep), at
// most maxConflictRetries times. fn must be idempotent.
func retryConflict(fn func() error) error {
	for attempt := 0; ; attempt++ {
		err := fn()
		if !errors.Is(err, badger.ErrConflict) || attempt == maxConflictRetries {
			return err
		}
	}
}

// evictBatch is how many cached copies one eviction round looks at.
const evictBatch = 16

// evictCache drops the least recently read cached copies while the cache
// is over CacheMaxBytes or the disk below the CacheMinFree watermark
// (counting the garbage the space loop is about to reclaim as free).
func (s *Store) evictCache(st *spaceState) {
	need := s.cacheExcess(st)
	for need > 0 && !s.closing() {
		batch := s.cache.oldest(evictBatch)
		if len(batch) == 0 {
			return
		}
		for _, e := range batch {
			_, err := s.DropCache(e.ref)
			switch {
			case err == nil:
				need -= e.size
				s.evicted.Add(1)
				s.log.Debug().Str("ref", e.ref.Short()).Int64("bytes", e.size).Msg("cached copy evicted")
			case errors.Is(err, ErrNotCached) || errors.Is(err, blocks.ErrNotFound):
				// became an owner copy, or deleted: no longer in the index
			default:
				if !errors.Is(err, blocks.ErrClosed) {
					s.log.Warn().Err(err).Str("ref", e.ref.Short()).Msg("evicting a cached copy")
				}
				return
			}
			if need <= 0 {
				return
			}
		}
	}
}

// cacheExcess returns how many bytes of cached copies must go: those past
// CacheMaxBytes, and, when the free space above the reserve is below
// CacheMinFree, the shortfall plus minGarbage (so that what is evicted is
// worth a value-log GC). Garbage the next space check will reclaim (at
// least minGarbage grown) counts as free.
func (s *Store) cacheExcess(st *spaceState) int64 {
	_, cached := s.cache.stats()
	if cached == 0 {
		return 0
	}
	var need int64
	if s.cfg.CacheMaxBytes > 0 {
		need = cached - s.cfg.CacheMaxBytes
	}
	if s.space == nil || s.cfg.CacheMinFree <= 0 {
		return need
	}
	free, err := freeBytes(s.cfg.Dir)
	if err != nil {
		return need
	}
	avail := free - s.cfg.DiskReserve
	if g, err := s.garbage(); err == nil && g-st.garbageBase >= s.cfg.minGarbage() {
		avail += g - st.garbageBase
	}
	if avail >= s.cfg.CacheMinFree {
		return need
	}
	return max(need, s.cfg.CacheMinFree-avail+s.cfg.minGarbage())
}

// loadCache fills the cache index at Open from the stored manifests whose
// use is UseCache, ordered by the time each copy was made (the stamp of its
// first block's use, else the object's creation).
func (s *Store) loadCache() error {
	var ents []cacheEntry
	err := s.scan([]byte{prefixManifest}, func(txn *badger.Txn, item *badger.Item) error {
		ref, ok := suffix32(item.Key())
		if !ok {
			return fmt.Errorf("%w: manifest key %x", errCorrupt, item.Key())
		}
		var m *blocks.Manifest
		err := item.Value(func(v []byte) error {
			if len(v) == 0 || Use(v[0]) != UseCache {
				return nil
			}
			var err error
			m, _, err = decodeStored(ref, v)
			return err
		})
		if err != nil || m == nil {
			return err
		}
		at, err := cachedAt(txn, ref, m)
		ents = append(ents, cacheEntry{ref: ref, size: m.Size, at: at})
		return err
	}, nil)
	slices.SortFunc(ents, func(a, b cacheEntry) int { return a.at.Compare(b.at) })
	for _, e := range ents {
		s.cache.put(e.ref, e.size, e.at)
	}
	return err
}

func cachedAt(txn *badger.Txn, ref blocks.Ref, m *blocks.Manifest) (time.Time, error) {
	if len(m.Blocks) == 0 {
		return m.Created, nil
	}
	item, err := txn.Get(useKey(m.Blocks[0], ref))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return m.Created, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	at := m.Created
	err = item.Value(func(v []byte) error {
		if _, t, ok := decodeUse(v); ok {
			at = t
		}
		return nil
	})
	return at, err
}
