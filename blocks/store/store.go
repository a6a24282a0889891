package store

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/dgraph-io/badger/v4"
	"github.com/emerge-dev/emerge/blocks"
	"github.com/rs/zerolog"
)

// Store keeps blocks, manifests, the block-use index and tombstones in one
// Badger database (key layout in keys.go).
//
// Blocks are content-addressed and stored once whatever the number of
// objects that use them. An object becomes visible only when its manifest is
// committed, after all its blocks are stored and a use record (block, ref)
// is written for each; a block lives while it has a use or a pin. Delete
// and Sweep remove blocks left with neither.
//
// All methods are safe for concurrent use. Calls on one ref (Commit,
// CommitHeld, Reserve, Delete) are serialised by a lock striped by ref;
// a block's removal excludes the writing of its uses through a lock striped
// by block id (locks.go); Sweep's removals of tombstones and uses
// rely on Badger's conflict detection. Calls on different objects run in
// parallel and share Badger's group commits.
type Store struct {
	cfg   Config
	log   zerolog.Logger
	db    *badger.DB
	space *spaceGuard // nil when InMemory or the reserve is disabled

	refMu   refLocks   // per-ref stripes: one writer of a ref's records at a time
	blockMu blockLocks // per-block stripes: uses vs removal, and pins

	objects    atomic.Int64  // committed manifests
	blocks     atomic.Int64  // stored blocks
	blockBytes atomic.Int64  // bytes of stored blocks
	splits     atomic.Int64  // transactions split on ErrTxnTooBig (tests read it)
	removals   atomic.Uint64 // removal transactions that removed blocks (the space loop waits for them to settle)
	reopens    atomic.Int64  // Badger reopens by the space loop (tests read it)
	evicted    atomic.Int64  // cached copies evicted

	cache   *cacheIndex   // cached copies, least recently read last
	gcMu    sync.Mutex    // one value-log GC, sweep+GC round or reopen at a time
	refused chan struct{} // a write was refused for space: wake the space loop

	quarantined atomic.Int64 // bad copies taken out since open

	life   sync.RWMutex // read-held by every call, write-held by Close
	closed bool
	quit   chan struct{}
	stop   sync.Once
	wg     sync.WaitGroup
}

// Open validates cfg, fills its defaults, opens (or creates) the
// database, counts what it holds, lists its cached copies, runs Sweep once
// and starts the background loop: sweep + value-log GC every GCInterval,
// cache eviction and getting space back when the disk is short of it every
// SpaceCheck (pressure.go). The loop's first space check, SpaceCheck after
// Open, reclaims what deletes before a restart left.
//
// Opening pays one pass over the block keys that touches one value-log page
// per block to learn the exact block sizes; Stats is O(1) afterwards.
func Open(cfg Config) (*Store, error) {
	cfg.fillDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	db, err := badger.Open(cfg.badgerOptions())
	if err != nil {
		return nil, fmt.Errorf("blocks: open badger in %q: %w", cfg.Dir, mapErr(err))
	}
	s := &Store{
		cfg:     cfg,
		log:     cfg.Logger.With().Str("component", "blocks").Logger(),
		db:      db,
		quit:    make(chan struct{}),
		cache:   newCacheIndex(),
		refused: make(chan struct{}, 1),
	}
	if !cfg.InMemory && cfg.DiskReserve > 0 {
		s.space = &spaceGuard{dir: cfg.Dir, reserve: cfg.DiskReserve, refused: s.kickSpace}
	}
	lost, err := s.recount()
	if err != nil {
		db.Close()
		return nil, err
	}
	s.quarantineLost(lost)
	if err := s.loadCache(); err != nil {
		db.Close()
		return nil, err
	}
	if st, err := s.sweep(); err != nil {
		s.log.Warn().Err(err).Msg("sweep at open failed; the store stays usable")
	} else {
		s.log.Debug().Interface("sweep", st).Msg("sweep at open")
	}
	if cfg.GCInterval > 0 || cfg.SpaceCheck > 0 {
		s.wg.Add(1)
		go s.spaceLoop()
	}
	return s, nil
}

// Close stops the GC loop, waits for it and for every call in progress,
// and closes the database. It is safe to call more than once.
func (s *Store) Close() error {
	s.stop.Do(func() { close(s.quit) })
	s.wg.Wait()
	s.life.Lock()
	defer s.life.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return mapErr(s.db.Close())
}

// enter admits a call unless the store is closed; every admitted call must
// leave. Calls never nest enter (Close waiting on the lock would deadlock).
func (s *Store) enter() error {
	s.life.RLock()
	if s.closed {
		s.life.RUnlock()
		return blocks.ErrClosed
	}
	return nil
}

func (s *Store) leave() { s.life.RUnlock() }

// closing reports whether Close has begun: long loops stop early.
func (s *Store) closing() bool {
	select {
	case <-s.quit:
		return true
	default:
		return false
	}
}

// mapErr turns a full disk into ErrNoSpace, keeping the cause.
func mapErr(err error) error {
	if err != nil && errors.Is(err, syscall.ENOSPC) && !errors.Is(err, blocks.ErrNoSpace) {
		return fmt.Errorf("%w: %w", blocks.ErrNoSpace, err)
	}
	return err
}
