package store

import (
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/emerge-dev/emerge/blocks"
)

// Getting space back when the disk is short of it.
//
// A deleted block leaves the index at once, but its bytes stay in Badger's
// value log until value-log GC rewrites the file holding them, and GC
//   - only considers files for which compaction has recorded discard
//     statistics; deletes sitting in the memtable record none, and a small
//     store (a few thousand keys) never fills a memtable;
//   - never rewrites the head file, the one being appended to, which on a
//     small disk holds everything (256 MiB files, a 640 MiB reserve).
//
// Closing and opening the Badger database fixes both: Close flushes the
// memtable and compacts level 0 (recording discard statistics), and Open
// starts a new head file, so the former head can be rewritten. A reopen
// pauses every store call for its duration (measured 0.02-0.9 s on tmpfs,
// 0.05-1.9 s on ext4, with 215 MiB in the former head, which Open reads
// through; docs/operations.md). The space loop does it only when the disk is
// short of space, deletes have left enough garbage and GC alone did not get
// it back, and only after the deletes have settled.
//
// Limit: the level-0 compaction at Close records the deletes of values
// whose older versions sit in the level it merges into. In a store whose
// tables span several levels, a delete of a value stored long ago is
// recorded only once compaction carries the delete down to that value
// (Badger's Flatten would force it, but stalls writes on a large tree).

// Value-log GC thresholds: the share of a file that must be garbage for
// GC to rewrite it. Under pressure a rewrite is worth more of its cost.
const (
	gcRatio         = 0.5
	gcPressureRatio = 0.2
)

// minGarbage is the garbage (value-log bytes not holding a stored block)
// that must have appeared since the last attempt before the space loop
// acts again: a sixteenth of a value-log file, at least 1 MiB.
func (c *Config) minGarbage() int64 { return max(c.ValueLogFileSize/16, 1<<20) }

// headroom is the free space above the reserve below which the disk is
// short of space: the loop then gets garbage back at once.
func (c *Config) headroom() int64 { return max(c.CacheMinFree, c.ValueLogFileSize) }

// spaceState is owned by the space loop.
type spaceState struct {
	garbageBase  int64  // garbage left after the last attempt
	removalsSeen uint64 // s.removals at the previous tick
}

// spaceLoop evicts cached copies and gets space back every SpaceCheck, and
// at once when a write was refused for space, until Close. It also runs the
// periodic sweep + GC every GCInterval, so that GC, reopen and eviction
// never overlap.
func (s *Store) spaceLoop() {
	defer s.wg.Done()
	tick := time.NewTicker(s.cfg.SpaceCheck)
	defer tick.Stop()
	var gc <-chan time.Time
	if s.cfg.GCInterval > 0 {
		t := time.NewTicker(s.cfg.GCInterval)
		defer t.Stop()
		gc = t.C
	}
	var st spaceState
	for {
		select {
		case <-s.quit:
			return
		case <-gc:
			s.runGC()
		case <-tick.C:
			s.checkSpace(&st, false)
		case <-s.refused:
			s.checkSpace(&st, true)
		}
	}
}

// checkSpace gets garbage back if the disk is short of space, then evicts
// what the cache must give up (its garbage is reclaimed at a later tick).
// urgent: a write was just refused, do not wait for deletes to settle.
func (s *Store) checkSpace(st *spaceState, urgent bool) {
	removals := s.removals.Load()
	settled := removals == st.removalsSeen
	st.removalsSeen = removals
	if s.space != nil {
		s.relieveIfShort(st, settled || urgent)
	}
	s.evictCache(st)
}

// relieveIfShort runs relieve when the disk is short of space and the
// garbage grew by minGarbage since the last attempt, once deletes have
// settled (or the garbage grew by a whole value-log file).
func (s *Store) relieveIfShort(st *spaceState, settled bool) {
	free, err := freeBytes(s.cfg.Dir)
	if err != nil || free-s.cfg.DiskReserve >= s.cfg.headroom() {
		return
	}
	garbage, err := s.garbage()
	if err != nil {
		return
	}
	grown := garbage - st.garbageBase
	if grown < s.cfg.minGarbage() || (!settled && grown < s.cfg.ValueLogFileSize) {
		return
	}
	start := time.Now()
	reopened, err := s.relieve(grown)
	if errors.Is(err, blocks.ErrClosed) {
		return
	}
	after, _ := s.garbage()
	st.garbageBase = after
	freeAfter, _ := freeBytes(s.cfg.Dir)
	ev := s.log.Info()
	if err != nil {
		ev = s.log.Warn().Err(err)
	}
	ev.Int64("free_before", free).Int64("free_after", freeAfter).Int64("garbage_before", garbage).
		Int64("garbage_after", after).Bool("reopened", reopened).Dur("took", time.Since(start)).
		Msg("disk short of space: value-log garbage reclaimed")
}

// relieve sweeps and runs value-log GC at the pressure ratio; if that
// leaves at least minGarbage of the grown garbage, it reopens the database
// (discard statistics, a new head file) and runs GC again.
func (s *Store) relieve(grown int64) (reopened bool, err error) {
	s.gcMu.Lock()
	defer s.gcMu.Unlock()
	before, err := s.garbage()
	if err != nil {
		return false, err
	}
	if err := s.sweepAndReclaim(gcPressureRatio); err != nil {
		return false, err
	}
	after, err := s.garbage()
	if err != nil || grown-(before-after) < s.cfg.minGarbage() {
		return false, err
	}
	if err := s.reopen(); err != nil {
		return false, err
	}
	return true, s.sweepAndReclaim(gcPressureRatio)
}

func (s *Store) sweepAndReclaim(ratio float64) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if _, err := s.sweep(); err != nil {
		return err
	}
	return s.reclaim(ratio)
}

// garbage estimates the value-log bytes that hold no stored block: the
// disk used by value-log files less the bytes of the stored blocks. Large
// manifests and entry headers count too, which is why the loop acts on its
// growth, not its level.
func (s *Store) garbage() (int64, error) {
	_, vlog, err := diskUsage(s.cfg.Dir)
	if err != nil {
		return 0, err
	}
	return max(vlog-s.blockBytes.Load(), 0), nil
}

// reopen closes and opens the Badger database with every store call held
// off. If the database does not open again, the store is closed: every
// call then fails with ErrClosed.
func (s *Store) reopen() error {
	s.life.Lock()
	defer s.life.Unlock()
	if s.closed {
		return blocks.ErrClosed
	}
	start := time.Now()
	if err := s.db.Close(); err != nil {
		s.log.Warn().Err(err).Msg("closing badger to rotate its value log")
	}
	db, err := badger.Open(s.cfg.badgerOptions())
	if err != nil {
		s.closed = true
		s.log.Error().Err(err).Msg("badger did not open again after a reopen; the store is closed")
		return fmt.Errorf("blocks: reopen badger in %q: %w", s.cfg.Dir, mapErr(err))
	}
	s.db = db
	s.reopens.Add(1)
	s.log.Debug().Dur("took", time.Since(start)).Msg("badger reopened: new value-log head, discard statistics flushed")
	return nil
}

// kickSpace wakes the space loop at once (a write was refused for space).
func (s *Store) kickSpace() {
	select {
	case s.refused <- struct{}{}:
	default:
	}
}
