package names

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Transport reaches the other nodes: the node's bus and rpc peers, or an
// in-memory network in tests.
type Transport interface {
	// Publish broadcasts new local entries (best effort: lost broadcasts
	// are made up by anti-entropy).
	Publish(ctx context.Context, entries []Entry) error
	// Peers lists the live members to sync with (endpoints), self excluded.
	Peers() []string
	// Digests asks a peer for its bucket digests (NumBuckets of them).
	Digests(ctx context.Context, peer string) ([]uint64, error)
	// Pull asks a peer for every entry of one bucket.
	Pull(ctx context.Context, peer string, bucket int) ([]Entry, error)
}

// ServiceConfig configures a Service.
type ServiceConfig struct {
	Namespace *Namespace // required
	Transport Transport  // required
	// SyncInterval is the period of anti-entropy (jittered ±25%); default
	// 30s; negative disables the loop (SyncWith still works).
	SyncInterval time.Duration
	// OnNew is called with the entries that were new after a merge or a
	// local write (for followers such as prefetch); may be nil.
	OnNew func([]Entry)
	// KeepVersions is the Keep of a binding written without one (0: keep
	// every version).
	KeepVersions int
	// KeepFor is the KeepFor of a binding written without one (0: no age
	// limit).
	KeepFor time.Duration
	Logger  zerolog.Logger
}

// Service is the namespace of one node on the network: local writes are
// stored and broadcast, entries heard are merged, and anti-entropy pulls
// what broadcasts lost. Its methods are what clients (the node's handlers,
// the gateway) call.
type Service struct {
	cfg ServiceConfig
	ns  *Namespace

	heard     chan []Entry    // broadcasts waiting for the applier
	casMu     sync.Mutex      // serialises compare-and-set decisions made here
	ctx       context.Context // canceled by Close: ends the loops and their calls
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	startOnce sync.Once
}

// DefaultSyncInterval is the anti-entropy period when none is set.
const DefaultSyncInterval = 30 * time.Second

// NewService validates cfg. Start runs the anti-entropy loop.
func NewService(cfg ServiceConfig) (*Service, error) {
	if cfg.Namespace == nil || cfg.Transport == nil {
		return nil, errors.New("names: Namespace and Transport are required")
	}
	if cfg.KeepVersions < 0 || cfg.KeepFor < 0 {
		return nil, fmt.Errorf("names: KeepVersions %d or KeepFor %s is negative", cfg.KeepVersions, cfg.KeepFor)
	}
	if cfg.SyncInterval == 0 {
		cfg.SyncInterval = DefaultSyncInterval
	}
	s := &Service{cfg: cfg, ns: cfg.Namespace, heard: make(chan []Entry, heardQueue)}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Namespace is the service's local copy.
func (s *Service) Namespace() *Namespace { return s.ns }

// heardQueue caps the broadcasts waiting to be merged; more are dropped
// (anti-entropy brings them).
const heardQueue = 1024

// Start runs the applier of Offer and anti-entropy until Close. Calling it
// again does nothing.
func (s *Service) Start() {
	s.startOnce.Do(func() {
		s.wg.Add(1)
		go s.applier()
		if s.cfg.SyncInterval > 0 {
			s.wg.Add(1)
			go s.loop()
		}
	})
}

// Offer queues entries heard on the bus for the applier without blocking;
// false when the queue is full (the entries are dropped: anti-entropy
// brings them later).
func (s *Service) Offer(entries []Entry) bool {
	select {
	case s.heard <- entries:
		return true
	default:
		return false
	}
}

// applier merges what Offer queued, in batches: one write per bucket
// changed, however many entries arrived meanwhile.
func (s *Service) applier() {
	defer s.wg.Done()
	for {
		var batch []Entry
		select {
		case <-s.ctx.Done():
			return
		case batch = <-s.heard:
		}
	more:
		for len(batch) < MaxEntries {
			select {
			case b := <-s.heard:
				batch = append(batch, b...)
			default:
				break more
			}
		}
		if _, err := s.Apply(batch); err != nil {
			s.cfg.Logger.Debug().Err(err).Msg("names: broadcast entries")
		}
	}
}

// Close stops the loop and waits for it. Idempotent. The namespace stays
// open (its owner closes it).
func (s *Service) Close() error {
	s.cancel()
	s.wg.Wait()
	return nil
}

func (s *Service) loop() {
	defer s.wg.Done()
	ctx := s.ctx
	for {
		d := s.cfg.SyncInterval
		d = d*3/4 + time.Duration(rand.Int64N(int64(d)/2+1))
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		peers := s.cfg.Transport.Peers()
		if len(peers) == 0 {
			continue
		}
		peer := peers[rand.IntN(len(peers))]
		if n, err := s.SyncWith(ctx, peer); err != nil {
			s.cfg.Logger.Debug().Err(err).Str("peer", peer).Msg("names sync")
		} else if n > 0 {
			s.cfg.Logger.Debug().Int("entries", n).Str("peer", peer).Msg("names sync pulled")
		}
	}
}

// SyncWith compares bucket digests with peer and pulls the buckets that
// differ. It returns how many entries were new here.
func (s *Service) SyncWith(ctx context.Context, peer string) (int, error) {
	theirs, err := s.cfg.Transport.Digests(ctx, peer)
	if err != nil {
		return 0, err
	}
	if len(theirs) != NumBuckets {
		return 0, fmt.Errorf("names: %s sent %d digests, want %d", peer, len(theirs), NumBuckets)
	}
	mine := s.ns.Digests()
	total := 0
	for b := range mine {
		if mine[b] == theirs[b] || theirs[b] == 0 {
			continue
		}
		entries, err := s.cfg.Transport.Pull(ctx, peer, b)
		if err != nil {
			return total, err
		}
		n, err := s.Apply(entries)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// Apply merges entries heard from a peer (a broadcast, a pulled bucket). It
// returns how many were new.
func (s *Service) Apply(entries []Entry) (int, error) {
	added, err := s.ns.Merge(entries)
	if len(added) > 0 && s.cfg.OnNew != nil {
		s.cfg.OnNew(added)
	}
	return len(added), err
}
