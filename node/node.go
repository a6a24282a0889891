package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/blocks/store"
	"github.com/emerge-dev/emerge/files"
	"github.com/emerge-dev/emerge/gateway"
	"github.com/emerge-dev/emerge/internal/hostid"
	"github.com/emerge-dev/emerge/metrics"
	"github.com/emerge-dev/emerge/names"
	"github.com/emerge-dev/emerge/pubsub"
	"github.com/emerge-dev/emerge/registry"
	"github.com/emerge-dev/emerge/registry/membership"
	"github.com/emerge-dev/emerge/rpc"
	zmq "github.com/pebbe/zmq4"
	"github.com/rs/zerolog"
)

// Node is one emerge daemon: a block store, the object service and the rpc
// server that exposes them.
type Node struct {
	cfg Config
	log zerolog.Logger

	id, host string
	zctx     *zmq.Context
	store    *store.Store
	files    *files.Service
	server   *rpc.Server
	peers    *peerPool
	bus      pubsub.Bus
	members  *membership.Service
	handlers *rpc.Mux
	shm      *hotTier // nil when shm_off
	ns       *names.Namespace
	names    *names.Service // the namespace on the network (names.go)
	follow   *follower      // prefetch of followed names (names_follow.go)
	free     *freer         // deletes objects no version names (names_free.go)
	// quarantined relays the store's bad copies to the object service,
	// holding those found at open until the service exists.
	quarantined relay
	sec         *security   // keys and ZAP handler (security.go)
	ready       atomic.Bool // requests before Start finished get "unavailable"

	metrics *metrics.Metrics
	http    *gateway.Server // nil when http_off
	joined  atomic.Bool     // another member was seen live (readiness)

	mu      sync.Mutex
	started bool
	closed  bool
}

// New validates cfg and fills its defaults. Start brings the node up.
func New(cfg Config) (*Node, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.HostID == "" {
		cfg.HostID = hostid.Get()
	}
	return &Node{cfg: cfg, log: cfg.Logger, host: cfg.HostID, metrics: metrics.New()}, nil
}

// Start opens the store and binds the rpc socket. On error everything opened
// so far is closed again.
func (n *Node) Start(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.started || n.closed {
		return errors.New("node: Start called twice or after Close")
	}
	n.started = true
	if err := n.start(ctx); err != nil {
		n.shutdown()
		return err
	}
	n.ready.Store(true)
	n.members.Start(ctx)
	self := n.members.Registry().Self()
	n.log.Info().Str("rpc", self.RPC).Str("pub", self.Pub).Str("data", n.cfg.DataDir).
		Int("members", len(n.Live())).Msg("node started")
	return nil
}

func (n *Node) start(ctx context.Context) error {
	if err := os.MkdirAll(n.cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("node: data dir: %w", err)
	}
	var err error
	n.store, err = store.Open(store.Config{
		Dir: filepath.Join(n.cfg.DataDir, "store"), SyncWrites: n.cfg.SyncWrites,
		ValueLogFileSize: int64(n.cfg.ValueLogFileSize), MemTableSize: int64(n.cfg.MemTableSize),
		BlockCacheSize: int64(n.cfg.BlockCacheSize), GCInterval: n.cfg.GCInterval,
		OnQuarantine:  n.quarantined.tell,
		CacheMaxBytes: int64(n.cfg.CacheMaxBytes), CacheMinFree: int64(n.cfg.CacheMinFree),
		Logger: n.log,
	})
	if err != nil {
		return fmt.Errorf("node: open store in %s: %w", n.cfg.DataDir, err)
	}
	if n.id, err = loadOrCreateID(n.store); err != nil {
		return err
	}
	n.log = n.log.With().Str("node", n.id).Logger()
	if n.zctx, err = zmq.NewContext(); err != nil {
		return fmt.Errorf("node: zmq context: %w", err)
	}
	if err := n.startSecurity(); err != nil {
		return err
	}
	n.handlers = rpc.NewMux()
	n.server, err = rpc.NewServer(rpc.ServerConfig{Context: n.zctx, Listen: n.cfg.Listen, Handler: rpc.HandlerFunc(n.serve),
		MaxInflight: n.cfg.MaxInflight, Logger: n.log.With().Str("component", "rpc").Logger(), Observe: n.metrics.ObserveRPC,
		Curve: n.sec.server})
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	if err := n.startCluster(ctx); err != nil {
		return err
	}
	n.files, err = files.New(files.Config{Store: n.store, Net: files.NewNetwork(n.members.Registry(), n.peers, n.bus),
		BlockSize: int(n.cfg.BlockSize),
		Replicas:  n.cfg.Replicas, MinReplicas: n.cfg.MinReplicas, UploadIdle: n.cfg.UploadIdle, LocateTimeout: n.cfg.LocateTimeout,
		FetchWindow: n.cfg.FetchWindow, CacheOff: n.cfg.CacheOff, PrefetchAnnounce: 5 * n.cfg.Heartbeat, Metrics: n.metrics,
		Repair: files.RepairConfig{Delay: n.cfg.RepairDelay, Interval: n.cfg.RepairInterval,
			Streams: n.cfg.RepairStreams, Rate: int64(n.cfg.RepairRate),
			MaxDeadShare: float64(n.cfg.RepairMaxDeadPct) / 100, Off: n.cfg.RepairOff,
			ScrubInterval: n.cfg.ScrubInterval, ScrubRate: int64(n.cfg.ScrubRate)},
		Logger: n.log.With().Str("component", "files").Logger()})
	if err != nil {
		return err
	}
	if err := n.startShm(); err != nil {
		return err
	}
	if err := n.startNames(); err != nil {
		return err
	}
	n.quarantined.to(n.files.Quarantined)
	n.startAllowWatch()
	n.register(n.handlers)
	n.watchMetrics()
	return n.startHTTP()
}

// serve answers "unavailable" until the node has started.
func (n *Node) serve(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	if !n.ready.Load() {
		return nil, rpc.Errorf(rpc.ErrUnavailable, "node %s is starting or stopping", n.id)
	}
	return n.handlers.Serve(ctx, m)
}

// loadOrCreateID returns the node's id, kept in the store so that it is
// stable across restarts.
func loadOrCreateID(st *store.Store) (string, error) {
	b, err := st.GetMeta("node_id")
	if err == nil {
		return string(b), nil
	}
	if !errors.Is(err, blocks.ErrNotFound) {
		return "", fmt.Errorf("node: read id: %w", err)
	}
	var raw [8]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	id := hex.EncodeToString(raw[:])
	if err := st.PutMeta("node_id", []byte(id)); err != nil {
		return "", fmt.Errorf("node: write id: %w", err)
	}
	return id, nil
}

// Close stops serving, then closes the object service and the store. Safe to
// call twice.
func (n *Node) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil
	}
	n.closed = true
	if n.ready.Load() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		n.members.Leave(ctx)
		cancel()
	}
	n.ready.Store(false)
	err := n.shutdown()
	n.log.Info().Msg("node stopped")
	return err
}

// Kill stops the node without telling the members, as a crash would: no
// leave, so they must notice the silence. For tests and fault injection.
func (n *Node) Kill() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil
	}
	n.closed = true
	n.ready.Store(false)
	return n.shutdown()
}

func (n *Node) shutdown() error {
	var errs []error
	if n.http != nil {
		errs = append(errs, n.http.Close())
	}
	if n.server != nil {
		errs = append(errs, n.server.Close())
	}
	errs = append(errs, n.stopShm())
	n.stopNames()
	if n.members != nil {
		n.members.Close()
	}
	if n.bus != nil {
		errs = append(errs, n.bus.Close())
	}
	if n.peers != nil {
		n.peers.close()
	}
	if n.files != nil {
		errs = append(errs, n.files.Close())
	}
	n.stopSecurity() // the ZAP socket closes before the context terminates
	if n.zctx != nil {
		errs = append(errs, n.zctx.Term())
	}
	if n.store != nil {
		errs = append(errs, n.store.Close())
	}
	return errors.Join(errs...)
}

// ID is the node's stable id.
func (n *Node) ID() string { return n.id }

// HostID identifies the machine.
func (n *Node) HostID() string { return n.host }

// Endpoint is the rpc endpoint other members and clients reach this node on.
func (n *Node) Endpoint() string { return n.members.Registry().Self().RPC }

// PubEndpoint is the broadcast endpoint other members subscribe to.
func (n *Node) PubEndpoint() string { return n.members.Registry().Self().Pub }

// Store gives tests and tools direct access to the node's block store.
func (n *Node) Store() *store.Store { return n.store }

// Files gives tests, tools and benchmarks direct access to the node's object
// service (its who-has lookup, Files().Locate, above all).
func (n *Node) Files() *files.Service { return n.files }

// Members returns the member table as this node sees it.
func (n *Node) Members() []registry.Status { return n.members.Registry().Members() }

// Live returns the members this node considers live (self included).
func (n *Node) Live() []registry.Member { return n.members.Registry().Live() }

// Config returns the node's effective configuration.
func (n *Node) Config() Config { return n.cfg }
