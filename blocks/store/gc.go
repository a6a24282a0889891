package store

import (
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/emerge-dev/emerge/blocks"
)

// SweepStats says what one Sweep removed.
type SweepStats struct {
	Tombstones int   // tombstones older than TombstoneTTL
	Uses       int   // uses with no manifest older than PendingGrace
	Blocks     int   // blocks with no use and no pin
	Bytes      int64 // bytes of those blocks
}

// Sweep removes, in this order, tombstones older than TombstoneTTL, uses
// whose ref has no manifest and that are older than PendingGrace (puts that
// never committed, deletes interrupted by a crash), then every block with
// no use and no pin. It scans all tombstones, uses and block keys (not block
// data) in short read transactions and removes candidates in batches,
// re-checking each in the removing transaction (tombstones, uses) or under
// the block's stripe (blocks), so it runs alongside other calls.
func (s *Store) Sweep() (SweepStats, error) {
	if err := s.enter(); err != nil {
		return SweepStats{}, err
	}
	defer s.leave()
	return s.sweep()
}

func (s *Store) sweep() (st SweepStats, err error) {
	now := s.cfg.Clock()
	if st.Tombstones, err = s.sweepTombstones(now); err != nil {
		return st, fmt.Errorf("blocks: sweep tombstones: %w", err)
	}
	if st.Uses, err = s.sweepUses(now); err != nil {
		return st, fmt.Errorf("blocks: sweep uses: %w", err)
	}
	if st.Blocks, st.Bytes, err = s.sweepBlocks(); err != nil {
		return st, fmt.Errorf("blocks: sweep blocks: %w", err)
	}
	return st, nil
}

// expired reports whether a record stamped at is more than ttl old.
func expired(at, now time.Time, ttl time.Duration) bool { return now.Sub(at) > ttl }

func (s *Store) sweepTombstones(now time.Time) (removed int, err error) {
	return s.sweepStale([]byte{prefixTomb}, func(txn *badger.Txn, key []byte) (bool, error) {
		at, ok, err := getTime(txn, key)
		return ok && expired(at, now, s.cfg.TombstoneTTL), err
	})
}

func (s *Store) sweepUses(now time.Time) (removed int, err error) {
	return s.sweepStale([]byte{prefixUse}, func(txn *badger.Txn, key []byte) (bool, error) {
		return s.staleUse(txn, key, now)
	})
}

// sweepStale deletes the keys under prefix that stale reports, checking
// each again in the deleting transaction (deleteIf), and returns how many
// it removed.
func (s *Store) sweepStale(prefix []byte, stale func(txn *badger.Txn, key []byte) (bool, error)) (removed int, err error) {
	var cand [][]byte
	err = s.scan(prefix, func(txn *badger.Txn, item *badger.Item) error {
		if ok, err := stale(txn, item.Key()); ok || err != nil {
			cand = append(cand, item.KeyCopy(nil))
			return err
		}
		return nil
	}, func() error {
		n, err := s.deleteIf(cand, stale)
		removed, cand = removed+n, cand[:0]
		return err
	})
	return removed, err
}

// staleUse reports whether the use at key is older than PendingGrace and
// its ref has no manifest.
func (s *Store) staleUse(txn *badger.Txn, key []byte, now time.Time) (bool, error) {
	_, ref, ok := splitUseKey(key)
	if !ok {
		return false, fmt.Errorf("%w: use key %x", errCorrupt, key)
	}
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var at time.Time
	err = item.Value(func(v []byte) error {
		if _, at, ok = decodeUse(v); !ok {
			return fmt.Errorf("%w: use value of %d bytes", errCorrupt, len(v))
		}
		return nil
	})
	if err != nil || !expired(at, now, s.cfg.PendingGrace) {
		return false, err
	}
	live, err := exists(txn, manifestKey(ref))
	return !live, err
}

// deleteIf deletes those keys for which stale still holds. It takes no
// lock: stale reads the records it depends on inside the deleting
// transaction, so a concurrent write of one of them (a Delete renewing a
// tombstone, a commit or Reserve writing a use, a commit writing the
// manifest) makes the transaction conflict; it is then run again over the
// keys, which re-checks each. Keys still conflicting are left for the next
// sweep.
func (s *Store) deleteIf(keys [][]byte, stale func(*badger.Txn, []byte) (bool, error)) (removed int, err error) {
	for attempt := 0; len(keys) > 0; attempt++ {
		n, err := s.deleteIfOnce(keys, stale)
		removed += n
		if !errors.Is(err, badger.ErrConflict) {
			return removed, err
		}
		if attempt == maxConflictRetries {
			s.log.Debug().Err(err).Msg("sweep conflicted; left for the next sweep")
			return removed, nil
		}
	}
	return removed, nil
}

func (s *Store) deleteIfOnce(keys [][]byte, stale func(*badger.Txn, []byte) (bool, error)) (removed int, err error) {
	pending := 0
	err = s.inBatches(len(keys), func(txn *badger.Txn, i int) error {
		if ok, err := stale(txn, keys[i]); !ok || err != nil {
			return err
		}
		if err := txn.Delete(keys[i]); err != nil {
			return err
		}
		pending++
		return nil
	}, func() { removed, pending = removed+pending, 0 })
	return removed, err
}

func (s *Store) sweepBlocks() (removed int, freed int64, err error) {
	var cand []blocks.ID
	err = s.scan([]byte{prefixBlock}, func(_ *badger.Txn, item *badger.Item) error {
		id, ok := suffix32(item.Key())
		if !ok {
			return fmt.Errorf("%w: block key %x", errCorrupt, item.Key())
		}
		cand = append(cand, id) // removeUnused checks uses and pins
		return nil
	}, func() error {
		if len(cand) == 0 {
			return nil
		}
		f, n, err := s.removeUnused(cand)
		removed, freed, cand = removed+int(n), freed+f, cand[:0]
		return err
	})
	return removed, freed, err
}

// ReclaimSpace runs Badger's value-log GC until it finds no file worth
// rewriting (half of it garbage). Deleted blocks give their disk space back
// only through it, one value-log file at a time; it cannot rewrite the file
// being appended to, nor a file whose deletes compaction has not seen yet
// (the space loop handles both when the disk is short of space, see
// pressure.go).
func (s *Store) ReclaimSpace() error {
	s.gcMu.Lock()
	defer s.gcMu.Unlock()
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	return s.reclaim(gcRatio)
}

// reclaim runs value-log GC at ratio until nothing is worth rewriting. The
// caller holds gcMu, so a reopen never waits for a rewrite.
func (s *Store) reclaim(ratio float64) error {
	if s.cfg.InMemory {
		return nil
	}
	for !s.closing() {
		err := s.db.RunValueLogGC(ratio)
		if errors.Is(err, badger.ErrNoRewrite) || errors.Is(err, badger.ErrRejected) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("blocks: value-log gc: %w", mapErr(err))
		}
	}
	return blocks.ErrClosed
}

// runGC is the periodic sweep + value-log GC (every GCInterval, from the
// space loop). When the garbage exceeds a value-log file and half of the
// value log, it also reopens the database so that the head file and deletes
// still in the memtable are reclaimed: space comes back within about
// GCInterval even on a disk that is not short of it.
func (s *Store) runGC() {
	s.gcMu.Lock()
	defer s.gcMu.Unlock()
	if err := s.sweepAndReclaimLogged(); err != nil {
		return
	}
	if s.cfg.InMemory {
		return
	}
	g, err := s.garbage()
	if err != nil || g < s.cfg.ValueLogFileSize {
		return
	}
	if _, vlog, err := diskUsage(s.cfg.Dir); err != nil || g < vlog/2 {
		return
	}
	if err := s.reopen(); err != nil {
		return
	}
	_ = s.sweepAndReclaimLogged()
}

func (s *Store) sweepAndReclaimLogged() error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	st, err := s.sweep()
	if err != nil && !errors.Is(err, blocks.ErrClosed) {
		s.log.Warn().Err(err).Msg("sweep failed")
	}
	if st != (SweepStats{}) {
		s.log.Info().Int("tombstones", st.Tombstones).Int("uses", st.Uses).
			Int("blocks", st.Blocks).Int64("bytes", st.Bytes).Msg("swept")
	}
	if err := s.reclaim(gcRatio); err != nil && !errors.Is(err, blocks.ErrClosed) {
		s.log.Warn().Err(err).Msg("value-log gc failed")
		return err
	}
	return nil
}
