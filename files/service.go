package files

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/blocks/store"
	"github.com/emerge-dev/emerge/internal/bufpool"
	"github.com/emerge-dev/emerge/internal/negcache"
	"github.com/emerge-dev/emerge/registry"
	"github.com/rs/zerolog"
)

// Config configures a Service. Zero values mean defaults.
type Config struct {
	Store     *store.Store // required
	Net       Network      // the peer layer; nil: a node alone
	BlockSize int          // default block size of a put (default 1 MiB)
	Replicas  int          // default replica count of a put: its target (default 1)
	// MinReplicas is the default number of durable copies a put waits for
	// before it returns (default 1, at most Replicas). Copies between it and
	// the target are made by repair.
	MinReplicas int
	UploadIdle  time.Duration // an upload idle this long is aborted (default 2 min)
	// LocateTimeout bounds the search for owners of a missing block (default 10 s).
	LocateTimeout time.Duration
	// FetchWindow is the block requests kept in flight per owner (default 8).
	FetchWindow int
	// CacheOff: a get of an object this node does not hold streams what it
	// fetches to its readers without keeping a cached copy in the store.
	CacheOff bool
	// PrefetchAnnounce is the period at which a source repeats its prefetch
	// announcements and a node resumes the prefetches it is a target of
	// (default 5 s).
	PrefetchAnnounce time.Duration
	// Repair and scrub (repair.go, scrub.go).
	Repair  RepairConfig
	Metrics Metrics          // what the service measures; default: nothing recorded
	Logger  zerolog.Logger   // default: silent
	Now     func() time.Time // default time.Now
}

func (c *Config) fill() error {
	if c.Store == nil {
		return errors.New("files: Store is required")
	}
	if c.BlockSize == 0 {
		c.BlockSize = blocks.DefaultBlockSize
	}
	if c.BlockSize < blocks.MinBlockSize || c.BlockSize > blocks.MaxBlockSize {
		return fmt.Errorf("files: %w: %d", blocks.ErrBadBlockSize, c.BlockSize)
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.Replicas < 1 || c.Replicas > blocks.MaxReplicas {
		return fmt.Errorf("files: replicas %d outside [1, %d]", c.Replicas, blocks.MaxReplicas)
	}
	if c.MinReplicas == 0 {
		c.MinReplicas = 1
	}
	if c.MinReplicas < 1 || c.MinReplicas > blocks.MaxReplicas {
		return fmt.Errorf("files: min_replicas %d outside [1, %d]", c.MinReplicas, blocks.MaxReplicas)
	}
	if c.UploadIdle <= 0 {
		c.UploadIdle = 2 * time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.LocateTimeout <= 0 {
		c.LocateTimeout = 10 * time.Second
	}
	if c.FetchWindow <= 0 {
		c.FetchWindow = 8
	}
	if c.PrefetchAnnounce <= 0 {
		c.PrefetchAnnounce = 5 * time.Second
	}
	if err := c.Repair.fill(); err != nil {
		return err
	}
	if c.Net == nil {
		c.Net = solo{self: registry.Member{ID: "local"}}
	}
	if c.Metrics == nil {
		c.Metrics = nopMetrics{}
	}
	return nil
}

// Service runs object operations for one node.
type Service struct {
	cfg   Config
	store *store.Store
	net   Network
	log   zerolog.Logger
	pool  bufpool.Pool

	mu      sync.Mutex
	uploads map[uint64]*Upload
	nextID  uint64
	closed  bool

	// peer network
	locs    *locations
	missing *negcache.Cache[blocks.Ref] // refs no member had, lately (negcache.go)
	answers answered
	qmu     sync.Mutex
	queries map[uint64]*query
	queryID atomic.Uint64
	fmu     sync.Mutex // guards fetches and bgDone
	fetches map[blocks.Ref]*fetch
	bgDone  bool // Close began: no new background work
	pf      *prefetcher
	heal    *healer
	scrub   *scrubber

	ctx    context.Context // canceled by Close: stops fetches and answers
	cancel context.CancelFunc
	quit   chan struct{}
	wg     sync.WaitGroup // the janitor
	bg     sync.WaitGroup // fetches and background answers
	once   sync.Once
}

// New validates cfg and starts the upload janitor.
func New(cfg Config) (*Service, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, store: cfg.Store, net: cfg.Net, log: cfg.Logger, uploads: make(map[uint64]*Upload),
		nextID: uint64(cfg.Now().UnixNano()), quit: make(chan struct{}), locs: newLocations(1 << 20),
		queries: make(map[uint64]*query), fetches: make(map[blocks.Ref]*fetch)}
	s.answers = answered{keep: cfg.LocateTimeout, m: map[answerKey]answer{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.missing = newMissing(cfg)
	s.pf = newPrefetcher(s)
	s.heal = newHealer(s)
	s.scrub = newScrubber(s)
	s.wg.Add(3)
	go s.janitor()
	go func() { defer s.wg.Done(); s.heal.loop(s.ctx) }()
	go func() { defer s.wg.Done(); s.scrub.loop(s.ctx) }()
	return s, nil
}

// Close aborts open uploads and stops the janitor. Safe to call twice.
func (s *Service) Close() error {
	s.once.Do(func() {
		close(s.quit)
		s.cancel() // stops the repair and scrub loops too
		s.wg.Wait()
		s.mu.Lock()
		s.closed = true
		ups := s.uploads
		s.uploads = map[uint64]*Upload{}
		s.mu.Unlock()
		s.fmu.Lock()
		s.bgDone = true
		s.fmu.Unlock()
		s.cancel()
		s.bg.Wait()
		for _, u := range ups {
			u.Abort()
		}
	})
	return nil
}

// BlockSize is the default block size.
func (s *Service) BlockSize() int { return s.cfg.BlockSize }

// Store is the underlying block store.
func (s *Service) Store() *store.Store { return s.store }

func (s *Service) janitor() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.UploadIdle / 4)
	defer t.Stop()
	pt := time.NewTicker(s.cfg.PrefetchAnnounce)
	defer pt.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
			s.expireUploads()
		case <-pt.C:
			s.pf.tick()
		}
	}
}

func (s *Service) expireUploads() {
	cutoff := s.cfg.Now().Add(-s.cfg.UploadIdle)
	var stale []*Upload
	s.mu.Lock()
	for id, u := range s.uploads {
		if u.idleSince().Before(cutoff) {
			stale = append(stale, u)
			delete(s.uploads, id)
		}
	}
	s.mu.Unlock()
	for _, u := range stale {
		s.log.Info().Uint64("upload", u.id).Msg("aborting idle upload")
		u.Abort()
	}
}

// Uploads is the number of open uploads.
func (s *Service) Uploads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.uploads)
}

// goBG runs f in the background unless the service is closing; Close waits
// for it.
func (s *Service) goBG(f func()) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if s.bgDone {
		return
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		f()
	}()
}
