package store

import (
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/emerge-dev/emerge/blocks"
	"github.com/rs/zerolog"
)

// Store defaults. A zero Config field means "use the default".
const (
	DefaultValueLogFileSize = 256 << 20
	DefaultMemTableSize     = 32 << 20
	DefaultBlockCacheSize   = 32 << 20
	DefaultGCInterval       = 5 * time.Minute
	DefaultPendingGrace     = time.Hour
	DefaultTombstoneTTL     = 24 * time.Hour
	DefaultSpaceCheck       = 2 * time.Second
)

// valueThreshold keeps block values (and large manifests) in Badger's value
// log and small records in the LSM tree: ~57k 4 KiB writes/s instead of ~8k
// with Badger's default (docs/benchmarks.md, MACHINE-NOTES).
const valueThreshold = 1024

// Config configures a Store. See DefaultConfig.
type Config struct {
	// Dir is the Badger directory. Required unless InMemory.
	Dir string
	// InMemory keeps everything in memory (unit tests only). Badger then
	// keeps every value in its LSM tree, which caps a value (a block, a
	// manifest record) below min(1 MiB, 15% of MemTableSize): a block of
	// exactly 1 MiB does not fit; use a directory for those.
	InMemory bool
	// SyncWrites fsyncs every commit. Off by default: a commit then survives
	// a process crash but not a power loss. A synced commit costs ~0.4 ms.
	SyncWrites bool
	// ValueLogFileSize is the size of one value-log file; default 256 MiB,
	// allowed [1 MiB, 2 GiB). Value-log GC reclaims space a file at a time,
	// so smaller files give deleted blocks back sooner. A block cannot be
	// larger than one file.
	ValueLogFileSize int64
	// MemTableSize is Badger's memtable size; default 32 MiB, at least 1 MiB.
	// One Badger transaction holds at most 15% of it, which is why large
	// commits are split (see Commit).
	MemTableSize int64
	// BlockCacheSize is Badger's block cache; default 32 MiB.
	BlockCacheSize int64
	// GCInterval is the period of the background sweep + value-log GC;
	// default 5 min; a negative value disables the background loop.
	GCInterval time.Duration
	// PendingGrace: block uses without a manifest (a put in progress, see
	// Reserve) older than this are swept; default 1 h.
	PendingGrace time.Duration
	// TombstoneTTL: tombstones older than this are swept; default 24 h.
	// A fetch that started before a delete and ends after the tombstone
	// expired can bring the object back.
	TombstoneTTL time.Duration
	// DiskReserve: writes that add data (PutBlock, Reserve, Commit) fail with
	// ErrNoSpace when the filesystem under Dir has less than this many bytes
	// free, leaving room for deletes, memtable flushes, compaction and
	// value-log GC. Badger writes through mmap, and a full disk under an
	// mmap write is a SIGBUS, not an error. Default 2×ValueLogFileSize +
	// 4×MemTableSize (640 MiB with the defaults); negative disables.
	DiskReserve int64
	// SpaceCheck is the period of the space loop (space.go, pressure.go):
	// it evicts cached copies past CacheMaxBytes or CacheMinFree and, when
	// the disk is short of space and deletes have left garbage in the value
	// log, gets it back at once (value-log GC, rotating the head file if
	// needed). Default 2 s; negative disables the loop.
	SpaceCheck time.Duration
	// CacheMaxBytes caps the bytes of cached copies (objects committed with
	// UseCache, each counted at its full size): past it the least recently
	// read are dropped. Default 0: no cap of its own (CacheMinFree still
	// applies).
	CacheMaxBytes int64
	// CacheMinFree is the disk watermark of the cache: while the free space
	// of the filesystem, less DiskReserve, plus the garbage a value-log GC
	// is about to return, is below it, the least recently read cached
	// copies are dropped, so copies kept by gets never make a put fail for
	// space. Default ValueLogFileSize; negative disables (InMemory: unused).
	CacheMinFree int64
	// Logger receives the store's logs and Badger's warnings and errors
	// (Badger's info and debug lines are dropped). Default: zerolog.Nop()
	// (the zero value logs nothing).
	Logger zerolog.Logger
	// Clock returns the current time; default time.Now. Tests inject one.
	Clock func() time.Time
	// OnQuarantine, when set, is told of every copy taken out of the store
	// for failing its hash (the node asks for its repair). It runs on the
	// goroutine that found the damage and must not call back into the store
	// synchronously.
	OnQuarantine func(id blocks.ID)
}

// DefaultConfig returns a config for dir with every default filled.
func DefaultConfig(dir string) Config {
	c := Config{Dir: dir}
	c.fillDefaults()
	return c
}

func (c *Config) fillDefaults() {
	setDefault(&c.ValueLogFileSize, DefaultValueLogFileSize)
	setDefault(&c.MemTableSize, DefaultMemTableSize)
	setDefault(&c.BlockCacheSize, DefaultBlockCacheSize)
	setDefault(&c.GCInterval, DefaultGCInterval)
	setDefault(&c.PendingGrace, DefaultPendingGrace)
	setDefault(&c.TombstoneTTL, DefaultTombstoneTTL)
	setDefault(&c.DiskReserve, 2*c.ValueLogFileSize+4*c.MemTableSize)
	setDefault(&c.SpaceCheck, DefaultSpaceCheck)
	setDefault(&c.CacheMinFree, c.ValueLogFileSize)
	if c.Clock == nil {
		c.Clock = time.Now
	}
}

func setDefault[T int64 | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

// errConfig marks an invalid Config.
var errConfig = fmt.Errorf("%w: store config", blocks.ErrInvalidArgument)

func (c *Config) validate() error {
	switch {
	case c.Dir == "" && !c.InMemory:
		return fmt.Errorf("%w: Dir is required unless InMemory", errConfig)
	case c.Dir != "" && c.InMemory:
		return fmt.Errorf("%w: Dir must be empty when InMemory", errConfig)
	case c.ValueLogFileSize < 1<<20 || c.ValueLogFileSize >= 2<<30:
		return fmt.Errorf("%w: ValueLogFileSize %d outside [1 MiB, 2 GiB)", errConfig, c.ValueLogFileSize)
	case c.MemTableSize < 1<<20:
		return fmt.Errorf("%w: MemTableSize %d below 1 MiB", errConfig, c.MemTableSize)
	case c.BlockCacheSize < 0:
		return fmt.Errorf("%w: negative BlockCacheSize", errConfig)
	case c.PendingGrace < 0 || c.TombstoneTTL < 0:
		return fmt.Errorf("%w: negative PendingGrace or TombstoneTTL", errConfig)
	case c.CacheMaxBytes < 0:
		return fmt.Errorf("%w: negative CacheMaxBytes", errConfig)
	}
	return nil
}

// maxValue is the largest value (block, manifest record) the store accepts.
func (c *Config) maxValue() int64 {
	if c.InMemory {
		// Badger v4.9.6 panics on an in-memory value of exactly the
		// threshold (it takes the value-log path), so stay one below.
		return min(1<<20, 15*c.MemTableSize/100) - 1
	}
	return c.ValueLogFileSize
}

func (c *Config) badgerOptions() badger.Options {
	o := badger.DefaultOptions(c.Dir).
		WithInMemory(c.InMemory).
		WithSyncWrites(c.SyncWrites).
		WithValueThreshold(valueThreshold).
		WithValueLogFileSize(c.ValueLogFileSize).
		WithMemTableSize(c.MemTableSize).
		WithBlockCacheSize(c.BlockCacheSize).
		WithMetricsEnabled(false).
		WithDetectConflicts(true).  // PutBlock relies on it to keep the counters exact
		WithCompactL0OnClose(true). // compaction is what tells value-log GC about deletes
		WithLogger(badgerLogger{c.Logger.With().Str("component", "badger").Logger()})
	if c.InMemory {
		// In memory, Badger refuses any value above the threshold.
		o = o.WithValueThreshold(c.maxValue() + 1)
	}
	return o
}
