package membership

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/pubsub"
	"github.com/emerge-dev/emerge/registry"
	"github.com/emerge-dev/emerge/rpc"
	"github.com/rs/zerolog"
)

// registryKey is where the member table is persisted.
const registryKey = "registry"

// MetaStore keeps small named records; GetMeta returns an error matching
// blocks.ErrNotFound for a name never written. The node's store is one.
type MetaStore interface {
	GetMeta(name string) ([]byte, error)
	PutMeta(name string, v []byte) error
}

// Config configures a Service. Zero durations mean defaults.
type Config struct {
	// Self is this node's record: id, rpc and pub endpoints, host, groups.
	Self registry.Member
	// Heartbeat is the period of the heartbeat (default 1 s); a member not
	// heard for SuspectAfter (3 s) is suspect, for DeadAfter (10 s) dead.
	Heartbeat, SuspectAfter, DeadAfter time.Duration
	// Seeds are rpc endpoints to join through; empty: the members
	// remembered in Meta.
	Seeds []string
	// Bus and Caller reach the other members. Required.
	Bus    pubsub.Bus
	Caller rpc.Caller
	// Meta persists the member table; nil: nothing is persisted.
	Meta MetaStore
	// OnMessage receives the bus messages that are not about membership.
	OnMessage func(pubsub.Message)
	// OnEvent is told of membership changes of other members, after the
	// service's own reaction (subscribing to a newcomer, forgetting one
	// removed).
	OnEvent func(registry.Event)
	// Logger, default silent.
	Logger zerolog.Logger
}

func (c *Config) fill() error {
	if c.Bus == nil || c.Caller == nil {
		return errors.New("membership: Bus and Caller are required")
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = time.Second
	}
	if c.SuspectAfter <= 0 {
		c.SuspectAfter = 3 * c.Heartbeat
	}
	if c.DeadAfter <= 0 {
		c.DeadAfter = 10 * c.Heartbeat
	}
	return nil
}

// Service runs membership for one node: it owns the registry and uses the
// bus, heartbeats, pulls the member table when digests differ, keeps the
// bus subscribed to every member, and persists the table.
type Service struct {
	cfg Config
	log zerolog.Logger
	reg *registry.Registry
	bus pubsub.Bus

	events chan registry.Event
	pulls  chan string // rpc endpoints to pull the table from
	quit   chan struct{}
	wg     sync.WaitGroup

	mu        sync.Mutex
	pulling   map[string]time.Time // endpoint -> last pull started
	merged    map[uint64]time.Time // digests of tables merged lately
	saved     uint64               // digest of the last persisted table
	startOnce sync.Once
	closeOnce sync.Once
}

// New validates cfg, builds the registry and restores the persisted table.
// Start runs the service.
func New(cfg Config) (*Service, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, log: cfg.Logger, bus: cfg.Bus, events: make(chan registry.Event, 1024),
		pulls: make(chan string, 64), quit: make(chan struct{}), pulling: make(map[string]time.Time), merged: make(map[uint64]time.Time)}
	var err error
	s.reg, err = registry.New(registry.Config{Self: cfg.Self, SuspectAfter: cfg.SuspectAfter, DeadAfter: cfg.DeadAfter,
		Notify: s.events, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("membership: registry: %w", err)
	}
	s.restore()
	return s, nil
}

// Registry is the member table this service keeps.
func (s *Service) Registry() *registry.Registry { return s.reg }

// restore reads the persisted member table: placement and the bus work at
// once, before any member answers.
func (s *Service) restore() {
	if s.cfg.Meta == nil {
		return
	}
	b, err := s.cfg.Meta.GetMeta(registryKey)
	if errors.Is(err, blocks.ErrNotFound) {
		return
	}
	if err == nil {
		err = s.reg.Restore(b)
	}
	if err != nil {
		s.log.Warn().Err(err).Msg("persisted member table unreadable; starting without it")
	}
}

// Start launches the goroutines and joins through the first seed that
// answers. A node whose seeds are all down starts alone and keeps trying
// in the background. Calling Start twice does nothing.
func (s *Service) Start(ctx context.Context) {
	s.startOnce.Do(func() {
		s.wg.Add(4)
		go s.tickLoop()
		go s.busLoop()
		go s.eventLoop()
		go s.pullLoop()
		s.reconcile()
		s.join(ctx)
	})
}

// join announces this node to the first seed that answers and merges its
// table. Seeds are the configured ones, or, when none are configured, the
// members remembered from the last run.
func (s *Service) join(ctx context.Context) {
	for _, ep := range s.seeds() {
		if err := s.joinVia(ctx, ep); err != nil {
			s.log.Warn().Err(err).Str("seed", ep).Msg("join failed")
			continue
		}
		s.log.Info().Str("seed", ep).Int("members", s.reg.Len()).Msg("joined")
		return
	}
}

func (s *Service) seeds() []string {
	self := s.reg.Self()
	var out []string
	seen := map[string]bool{self.RPC: true}
	add := func(ep string) {
		if ep != "" && !seen[ep] {
			seen[ep] = true
			out = append(out, ep)
		}
	}
	for _, p := range s.cfg.Seeds {
		add(p)
	}
	for _, st := range s.reg.Members() {
		if !st.Left && st.ID != self.ID {
			add(st.RPC)
		}
	}
	return out
}

func (s *Service) joinVia(ctx context.Context, endpoint string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	m, err := s.cfg.Caller.Call(ctx, endpoint, rpc.OpJoin, &rpc.JoinReq{Member: ToWire(s.reg.Self())}, nil)
	if err != nil {
		return err
	}
	return s.mergeTable(m)
}

// mergeTable merges the snapshot in a Join or Registry reply.
func (s *Service) mergeTable(m *rpc.Message) error {
	if len(m.Data) != 1 {
		return fmt.Errorf("%w: member table reply with %d frames", rpc.ErrBadRequest, len(m.Data))
	}
	ms, err := registry.DecodeSnapshot(m.Data[0])
	if err != nil {
		return err
	}
	s.reg.MergeAll(ms)
	return nil
}

// Leave tells the members this node is going: over rpc to each live member
// (reliable, bounded by ctx) and on the bus.
func (s *Service) Leave(ctx context.Context) {
	self := s.reg.Leave()
	req := &rpc.JoinReq{Member: ToWire(self)}
	var wg sync.WaitGroup
	for _, m := range s.reg.Live() {
		if m.ID == self.ID {
			continue
		}
		wg.Add(1)
		go func(ep string) {
			defer wg.Done()
			s.cfg.Caller.Call(ctx, ep, rpc.OpJoin, req, nil)
		}(m.RPC)
	}
	s.bus.Publish(ctx, pubsub.Message{Type: pubsub.TypeLeave, From: self.ID, Incarnation: self.Incarnation})
	wg.Wait()
}

// Close stops the goroutines and saves the table. It does not close the
// bus, which the caller owns. Safe to call twice.
func (s *Service) Close() {
	s.closeOnce.Do(func() {
		close(s.quit)
		s.wg.Wait()
		s.save(true)
	})
}

// save persists the table when it changed since the last save.
func (s *Service) save(force bool) {
	if s.cfg.Meta == nil {
		return
	}
	d := s.reg.Digest()
	s.mu.Lock()
	changed := d != s.saved
	s.mu.Unlock()
	if !changed && !force {
		return
	}
	b, err := s.reg.Snapshot()
	if err == nil {
		err = s.cfg.Meta.PutMeta(registryKey, b)
	}
	if err != nil {
		s.log.Warn().Err(err).Msg("persist member table")
		return
	}
	s.mu.Lock()
	s.saved = d
	s.mu.Unlock()
}

// ToWire converts a member record to its wire form.
func ToWire(m registry.Member) rpc.MemberRecord {
	return rpc.MemberRecord{ID: m.ID, RPC: m.RPC, Pub: m.Pub, Host: m.Host, Groups: m.Groups,
		Incarnation: m.Incarnation, Left: m.Left}
}

// FromWire converts a wire member record.
func FromWire(w rpc.MemberRecord) registry.Member {
	return registry.Member{ID: w.ID, RPC: w.RPC, Pub: w.Pub, Host: w.Host, Groups: w.Groups,
		Incarnation: w.Incarnation, Left: w.Left}
}
