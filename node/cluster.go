package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/blocks/store"
	"github.com/emerge-dev/emerge/pubsub"
	"github.com/emerge-dev/emerge/registry"
	"github.com/emerge-dev/emerge/rpc"
	"github.com/rs/zerolog"
)

// registryKey is where the member table is persisted in the store.
const registryKey = "registry"

// cluster runs membership: it owns the registry and the bus, heartbeats,
// pulls the member table when digests differ, keeps the bus subscribed to
// every member, and persists the table so a restarted node knows the
// network before anyone answers.
type cluster struct {
	cfg   Config
	log   zerolog.Logger
	reg   *registry.Registry
	bus   pubsub.Bus
	peers *peerPool
	store *store.Store

	// handlers for the messages other components care about
	onMessage func(pubsub.Message)
	// onPeerBack is called when a member joins or comes back (catch up on
	// the deletes either side missed).
	onPeerBack func(registry.Member)

	events chan registry.Event
	pulls  chan string // rpc endpoints to pull the table from
	quit   chan struct{}
	wg     sync.WaitGroup

	mu        sync.Mutex
	pulling   map[string]time.Time // endpoint -> last pull started
	saved     uint64               // digest of the last persisted table
	closeOnce sync.Once
}

func newCluster(cfg Config, self registry.Member, bus pubsub.Bus, peers *peerPool, st *store.Store, log zerolog.Logger) (*cluster, error) {
	c := &cluster{cfg: cfg, log: log, bus: bus, peers: peers, store: st, events: make(chan registry.Event, 1024),
		pulls: make(chan string, 64), quit: make(chan struct{}), pulling: make(map[string]time.Time)}
	var err error
	c.reg, err = registry.New(registry.Config{Self: self, SuspectAfter: cfg.SuspectAfter, DeadAfter: cfg.DeadAfter,
		Notify: c.events, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("node: registry: %w", err)
	}
	if err := c.restore(); err != nil {
		return nil, err
	}
	return c, nil
}

// restore reads the persisted member table: placement and the bus work at
// once, before any member answers.
func (c *cluster) restore() error {
	b, err := c.store.GetMeta(registryKey)
	if errors.Is(err, blocks.ErrNotFound) {
		return nil
	}
	if err == nil {
		err = c.reg.Restore(b)
	}
	if err != nil {
		c.log.Warn().Err(err).Msg("persisted member table unreadable; starting without it")
	}
	return nil
}

// start launches the goroutines; join contacts the seeds.
func (c *cluster) start() {
	c.wg.Add(4)
	go c.tickLoop()
	go c.busLoop()
	go c.eventLoop()
	go c.pullLoop()
	c.reconcile()
}

// join announces this node to the first seed that answers and merges its
// table. Seeds are the configured peers, or, when none are configured, the
// members remembered from the last run. A node whose seeds are all down
// starts alone and keeps trying in the background (tickLoop).
func (c *cluster) join(ctx context.Context) {
	for _, ep := range c.seeds() {
		if err := c.joinVia(ctx, ep); err != nil {
			c.log.Warn().Err(err).Str("seed", ep).Msg("join failed")
			continue
		}
		c.log.Info().Str("seed", ep).Int("members", c.reg.Len()).Msg("joined")
		return
	}
}

func (c *cluster) seeds() []string {
	self := c.reg.Self()
	var out []string
	seen := map[string]bool{self.RPC: true}
	add := func(ep string) {
		if ep != "" && !seen[ep] {
			seen[ep] = true
			out = append(out, ep)
		}
	}
	for _, p := range c.cfg.Peers {
		add(p)
	}
	for _, st := range c.reg.Members() {
		if !st.Left && st.ID != self.ID {
			add(st.RPC)
		}
	}
	return out
}

func (c *cluster) joinVia(ctx context.Context, endpoint string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	m, err := c.peers.call(ctx, endpoint, rpc.OpJoin, &rpc.JoinReq{Member: toWire(c.reg.Self())}, nil)
	if err != nil {
		return err
	}
	return c.mergeTable(m)
}

// mergeTable merges the snapshot in a Join or Registry reply.
func (c *cluster) mergeTable(m *rpc.Message) error {
	if len(m.Data) != 1 {
		return fmt.Errorf("%w: member table reply with %d frames", rpc.ErrBadRequest, len(m.Data))
	}
	ms, err := registry.DecodeSnapshot(m.Data[0])
	if err != nil {
		return err
	}
	c.reg.MergeAll(ms)
	return nil
}

// leave tells the members this node is going: over rpc to each live member
// (reliable, bounded by ctx) and on the bus.
func (c *cluster) leave(ctx context.Context) {
	self := c.reg.Leave()
	req := &rpc.JoinReq{Member: toWire(self)}
	var wg sync.WaitGroup
	for _, m := range c.reg.Live() {
		if m.ID == self.ID {
			continue
		}
		wg.Add(1)
		go func(ep string) {
			defer wg.Done()
			c.peers.call(ctx, ep, rpc.OpJoin, req, nil)
		}(m.RPC)
	}
	c.bus.Publish(ctx, pubsub.Message{Type: pubsub.TypeLeave, From: self.ID, Incarnation: self.Incarnation})
	wg.Wait()
}

// close stops the goroutines, saves the table and closes the bus.
func (c *cluster) close() {
	c.closeOnce.Do(func() {
		close(c.quit)
		c.bus.Close()
		c.wg.Wait()
		c.save(true)
	})
}

// save persists the table when it changed since the last save.
func (c *cluster) save(force bool) {
	d := c.reg.Digest()
	c.mu.Lock()
	changed := d != c.saved
	c.mu.Unlock()
	if !changed && !force {
		return
	}
	b, err := c.reg.Snapshot()
	if err == nil {
		err = c.store.PutMeta(registryKey, b)
	}
	if err != nil {
		c.log.Warn().Err(err).Msg("persist member table")
		return
	}
	c.mu.Lock()
	c.saved = d
	c.mu.Unlock()
}

func toWire(m registry.Member) rpc.MemberRecord {
	return rpc.MemberRecord{ID: m.ID, RPC: m.RPC, Pub: m.Pub, Host: m.Host, Groups: m.Groups,
		Incarnation: m.Incarnation, Left: m.Left}
}

func fromWire(w rpc.MemberRecord) registry.Member {
	return registry.Member{ID: w.ID, RPC: w.RPC, Pub: w.Pub, Host: w.Host, Groups: w.Groups,
		Incarnation: w.Incarnation, Left: w.Left}
}
