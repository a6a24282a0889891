package names

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/emerge-dev/emerge/blocks"
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
	OnNew  func([]Entry)
	Logger zerolog.Logger
}

// Service is the namespace of one node on the network: local writes are
// stored and broadcast, entries heard are merged, and anti-entropy pulls
// what broadcasts lost. Its methods are what clients (the node's handlers,
// the gateway) call.
type Service struct {
	cfg ServiceConfig
	ns  *Namespace

	heard     chan []Entry // broadcasts waiting for the applier
	casMu     sync.Mutex   // serialises compare-and-set decisions made here
	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	startOnce sync.Once
}

// DefaultSyncInterval is the anti-entropy period when none is set.
const DefaultSyncInterval = 30 * time.Second

// NewService validates cfg. Start runs the anti-entropy loop.
func NewService(cfg ServiceConfig) (*Service, error) {
	if cfg.Namespace == nil || cfg.Transport == nil {
		return nil, errors.New("names: Namespace and Transport are required")
	}
	if cfg.SyncInterval == 0 {
		cfg.SyncInterval = DefaultSyncInterval
	}
	return &Service{cfg: cfg, ns: cfg.Namespace, stop: make(chan struct{}), heard: make(chan []Entry, heardQueue)}, nil
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
		case <-s.stop:
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
	s.closeOnce.Do(func() { close(s.stop) })
	s.wg.Wait()
	return nil
}

func (s *Service) loop() {
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.stop
		cancel()
	}()
	for {
		d := s.cfg.SyncInterval
		d = d*3/4 + time.Duration(rand.Int64N(int64(d)/2+1))
		t := time.NewTimer(d)
		select {
		case <-s.stop:
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

// BindOptions are the optional fields of a binding.
type BindOptions struct {
	ContentType string
	Size        int64
	Owner       string        // default: this node's id
	Mode        uint32        // default DefaultMode
	TTL         time.Duration // 0: forever
}

// Bind makes path name ref: a new version, broadcast to every node.
func (s *Service) Bind(ctx context.Context, path string, ref blocks.Ref, o BindOptions) (Entry, error) {
	if ref.IsZero() {
		return Entry{}, fmt.Errorf("%w: bind %s to the zero ref", ErrBadPath, path)
	}
	if o.TTL < 0 {
		return Entry{}, fmt.Errorf("%w: negative ttl %s", ErrBadPath, o.TTL)
	}
	e := Entry{Path: path, Ref: ref, ContentType: o.ContentType, Size: o.Size, Owner: o.Owner, Mode: o.Mode, TTL: o.TTL}
	if e.Owner == "" {
		e.Owner = s.ns.Node()
	}
	if e.Mode == 0 {
		e.Mode = DefaultMode
	}
	return s.write(ctx, e)
}

// BindIf binds path to ref only if the path's latest version is number
// version (0: the path has none yet); otherwise ErrConflict. Decisions
// made by one Service are serialised, so of concurrent BindIf calls with
// the same version one succeeds; callers route every compare-and-set of a
// path to one node (the node uses the path's rendezvous owner).
func (s *Service) BindIf(ctx context.Context, path string, ref blocks.Ref, o BindOptions, version int) (Entry, error) {
	s.casMu.Lock()
	defer s.casMu.Unlock()
	vs, err := s.ns.Versions(path)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Entry{}, err
	}
	if len(vs) != version {
		return Entry{}, fmt.Errorf("%w: %s is at version %d, not %d", ErrConflict, path, len(vs), version)
	}
	return s.Bind(ctx, path, ref, o)
}

// write checks the mode of the name it changes, stores e and broadcasts it.
func (s *Service) write(ctx context.Context, e Entry) (Entry, error) {
	if err := ctx.Err(); err != nil {
		return Entry{}, err
	}
	if err := s.checkMode(e); err != nil {
		return Entry{}, err
	}
	stored, err := s.ns.Write(e)
	if err != nil {
		return Entry{}, err
	}
	s.publish(ctx, stored)
	return stored, nil
}

func (s *Service) publish(ctx context.Context, e Entry) {
	if s.cfg.OnNew != nil {
		s.cfg.OnNew([]Entry{e})
	}
	if err := s.cfg.Transport.Publish(ctx, []Entry{e}); err != nil {
		s.cfg.Logger.Debug().Err(err).Str("path", e.Path).Msg("names publish (anti-entropy will carry it)")
	}
}

// checkMode refuses a change to a name whose latest live version belongs
// to another owner and does not let others write (mode bit 0o002).
// Advisory: owners are node ids until clients authenticate.
func (s *Service) checkMode(e Entry) error {
	cur, err := s.ns.Resolve(e.Path, 0)
	if err != nil {
		return nil
	}
	owner := e.Owner
	if owner == "" {
		owner = s.ns.Node()
	}
	if cur.Owner != owner && cur.Mode&0o002 == 0 {
		return fmt.Errorf("%w: %s belongs to %s, mode %04o", ErrDenied, e.Path, cur.Owner, cur.Mode)
	}
	return nil
}

// Resolve returns the entry a target ("path" or "path@N") names.
func (s *Service) Resolve(ctx context.Context, target string) (Entry, error) {
	if err := ctx.Err(); err != nil {
		return Entry{}, err
	}
	path, v, err := ParseTarget(target)
	if err != nil {
		return Entry{}, err
	}
	return s.ns.Resolve(path, v)
}

// List returns the live names under prefix (see Namespace.List).
func (s *Service) List(ctx context.Context, prefix string, recursive bool) ([]Item, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.ns.List(prefix, recursive)
}

// Versions returns every version of path.
func (s *Service) Versions(ctx context.Context, path string) ([]Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return s.ns.Versions(path)
}

// Move binds to the object from names (its latest version, with its
// content type, size and mode) and removes from (its versions stay, as
// after Remove without all). It returns the new entry of to.
func (s *Service) Move(ctx context.Context, from, to string) (Entry, error) {
	if err := ValidatePath(to); err != nil {
		return Entry{}, err
	}
	cur, err := s.Resolve(ctx, from)
	if err != nil {
		return Entry{}, err
	}
	if cur.Path == to {
		return cur, nil
	}
	if err := s.checkMode(Entry{Path: from}); err != nil {
		return Entry{}, err
	}
	e, err := s.Bind(ctx, to, cur.Ref, BindOptions{ContentType: cur.ContentType, Size: cur.Size, Mode: cur.Mode, TTL: cur.TTL})
	if err != nil {
		return Entry{}, err
	}
	_, err = s.write(ctx, Entry{Path: cur.Path, Tombstone: true, Owner: s.ns.Node()})
	return e, err
}

// Remove removes path: a tombstone version, so the name resolves no more.
// Without all, earlier versions stay readable as path@N; with all they
// are erased. It returns the refs no version of any path names any more:
// the objects the caller may delete.
func (s *Service) Remove(ctx context.Context, path string, all bool) (Entry, []blocks.Ref, error) {
	vs, err := s.Versions(ctx, path)
	if err != nil {
		return Entry{}, nil, err
	}
	if last := vs[len(vs)-1]; last.Tombstone && (!all || last.AllVersions) {
		return Entry{}, nil, fmt.Errorf("%w: %s was removed already (version %d)", ErrRemoved, path, last.Version)
	}
	e, err := s.write(ctx, Entry{Path: path, Tombstone: true, AllVersions: all, Owner: s.ns.Node()})
	if err != nil || !all {
		return e, nil, err
	}
	var orphans []blocks.Ref
	seen := map[blocks.Ref]bool{}
	for _, v := range vs {
		if v.Tombstone || seen[v.Ref] {
			continue
		}
		seen[v.Ref] = true
		if !s.ns.Named(v.Ref) {
			orphans = append(orphans, v.Ref)
		}
	}
	return e, orphans, nil
}
