package shm

import (
	"container/list"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/rs/zerolog"
)

// Tier is a node's shared-memory hot tier. Its methods are safe for
// concurrent use. It starts no goroutines: the node calls Sweep now and then.
type Tier struct {
	cfg  Config
	log  zerolog.Logger
	lock *os.File // Dir itself, flocked so two tiers never share a Dir

	mu       sync.Mutex
	closed   bool
	seq      uint64
	lru      *list.List // of *entry, most recently used first
	entries  map[blocks.Ref]*list.Element
	pending  map[blocks.Ref]*Writer
	uploads  map[string]*upload
	pool     pool
	hot      int64 // bytes of sealed hot copies
	reserved int64 // bytes reserved by open Writers
	uploaded int64 // bytes of uploads
	evicted  uint64
	recycled uint64
}

type entry struct {
	ref  blocks.Ref
	size int64
}

// Stats is a snapshot of the tier's accounting.
type Stats struct {
	Capacity  int64
	Used      int64  // Hot + Reserved + Uploads + Pool; never above Capacity
	Hot       int64  // bytes of sealed hot copies
	Reserved  int64  // bytes reserved by open Writers
	Uploads   int64  // bytes of uploads, sealed or not
	Pool      int64  // bytes of retired files kept for reuse
	Entries   int    // hot copies
	PoolFiles int    // retired files kept for reuse
	Evictions uint64 // hot copies evicted to make room
	Recycled  uint64 // files whose pages were reused
}

// Open creates Dir if needed, takes it for this tier, and removes the files
// a previous run left there: a restarted node has no record of them.
func Open(cfg Config) (*Tier, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	t := &Tier{cfg: cfg, log: cfg.Logger.With().Str("component", "shm").Logger(),
		lru: list.New(), entries: map[blocks.Ref]*list.Element{},
		pending: map[blocks.Ref]*Writer{}, uploads: map[string]*upload{}}
	if err := t.takeDir(); err != nil {
		return nil, err
	}
	t.removeStale()
	t.checkMount()
	return t, nil
}

// takeDir creates Dir and flocks it; a second tier on the same Dir would
// delete the first one's files.
func (t *Tier) takeDir() error {
	if err := os.MkdirAll(t.cfg.Dir, 0o700); err != nil {
		return fmt.Errorf("shm dir: %w", err)
	}
	d, err := os.Open(t.cfg.Dir)
	if err != nil {
		return fmt.Errorf("shm dir: %w", err)
	}
	ok, err := tryLock(d, lockEx)
	if err == nil && !ok {
		err = fmt.Errorf("%w: %s is used by another tier", ErrBusy, t.cfg.Dir)
	}
	if err != nil {
		d.Close()
		return err
	}
	t.lock = d
	return nil
}

// removeStale deletes every file in Dir the tier could have made.
func (t *Tier) removeStale() {
	des, err := os.ReadDir(t.cfg.Dir)
	if err != nil {
		t.log.Warn().Err(err).Msg("list shm dir")
		return
	}
	removed, foreign := 0, 0
	for _, de := range des {
		if !ours(de.Name()) || de.IsDir() {
			foreign++
			continue
		}
		if t.removeFile(de.Name()) == nil {
			removed++
		}
	}
	t.log.Debug().Int("removed", removed).Int("foreign", foreign).Msg("stale files")
}

func (t *Tier) path(name string) string { return filepath.Join(t.cfg.Dir, name) }

func (t *Tier) removeFile(name string) error {
	err := os.Remove(t.path(name))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.log.Warn().Err(err).Str("file", name).Msg("remove")
		return err
	}
	return nil
}

// Dir is the directory holding the tier's files.
func (t *Tier) Dir() string { return t.cfg.Dir }

// Stats returns the tier's accounting.
func (t *Tier) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return Stats{Capacity: t.cfg.Capacity, Used: t.used(), Hot: t.hot, Reserved: t.reserved,
		Uploads: t.uploaded, Pool: t.pool.bytes, Entries: len(t.entries),
		PoolFiles: len(t.pool.files), Evictions: t.evicted, Recycled: t.recycled}
}

func (t *Tier) used() int64 { return t.hot + t.reserved + t.uploaded + t.pool.bytes }

// Close removes every file of the tier (hot copies are a cache, and the
// next Open would remove them anyway), then Dir if it is empty. Views that
// clients hold stay valid: removal only unlinks. Open Writers fail at Seal
// with ErrClosed. Close is idempotent.
func (t *Tier) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil
	}
	t.closed = true
	for _, name := range t.fileNames() {
		_ = t.removeFile(name)
	}
	t.lru.Init()
	clear(t.entries)
	clear(t.pending)
	clear(t.uploads)
	t.pool = pool{}
	t.hot, t.reserved, t.uploaded = 0, 0, 0
	_ = os.Remove(t.cfg.Dir) // fails, harmlessly, if foreign files remain
	return t.lock.Close()
}

// fileNames lists every file the tier currently owns.
func (t *Tier) fileNames() []string {
	var names []string
	for el := t.lru.Front(); el != nil; el = el.Next() {
		names = append(names, hotName(el.Value.(*entry).ref))
	}
	for _, w := range t.pending {
		names = append(names, w.name)
	}
	for name := range t.uploads {
		names = append(names, name)
	}
	for _, f := range t.pool.files {
		names = append(names, f.name)
	}
	return names
}
