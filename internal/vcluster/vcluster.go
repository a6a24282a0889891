// Package vcluster starts many emerge nodes in one test process on a
// virtual network (internal/virtnet): each node is its real services —
// membership over its registry, the object service with its mover — over
// an in-memory Badger store, with no sockets. A hundred nodes start in
// seconds. Tests of features always have real-socket counterparts
// (internal/nodetest, internal/proctest); this adds scale.
package vcluster

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/blocks/store"
	"github.com/emerge-dev/emerge/files"
	"github.com/emerge-dev/emerge/internal/virtnet"
	"github.com/emerge-dev/emerge/names"
	"github.com/emerge-dev/emerge/pubsub"
	"github.com/emerge-dev/emerge/registry"
	"github.com/emerge-dev/emerge/registry/membership"
	"github.com/emerge-dev/emerge/rpc"
	"github.com/rs/zerolog"
)

// SeedEnv names the environment variable that replays a run: its value is
// the seed the failing run printed.
const SeedEnv = "EMERGE_VNET_SEED"

// Options configure a cluster. Zero values mean defaults.
type Options struct {
	// Link is the default link (latency, bandwidth, bus loss).
	Link virtnet.Link
	// BlockSize of puts (default 64 KiB: an in-memory store keeps values
	// under 1 MiB).
	BlockSize int
	// Replicas is the default target of puts (default 2).
	Replicas int
	// Heartbeat (default 200 ms); a member is suspect after 10 heartbeats
	// unheard, dead after 25. A hundred nodes share two cores here, so
	// heartbeats are late whenever the nodes work: shorter timers make
	// members flap between suspect and alive.
	Heartbeat time.Duration
	// LocateTimeout of the object service (default 20 s: twice a node's, as
	// a hundred nodes on two cores answer slowly when the machine is busy).
	LocateTimeout time.Duration
	// Files adjusts node i's object service config.
	Files func(i int, c *files.Config)
	// Names runs the namespace service on every node (names_sync_interval
	// NamesSync, default 1 s); NamesClock, when set, is node i's physical
	// clock (tests skew it).
	Names      bool
	NamesSync  time.Duration
	NamesClock func(i int) func() time.Time
	// Logger for every node (default silent).
	Logger zerolog.Logger
}

func (o *Options) fill() {
	if o.BlockSize == 0 {
		o.BlockSize = 64 << 10
	}
	if o.Replicas == 0 {
		o.Replicas = 2
	}
	if o.Heartbeat == 0 {
		o.Heartbeat = 200 * time.Millisecond
	}
	if o.LocateTimeout == 0 {
		o.LocateTimeout = 20 * time.Second
	}
	if o.NamesSync == 0 {
		o.NamesSync = time.Second
	}
}

// Node is one virtual node. Its store survives Kill, so Start brings the
// node back on its data, as a restarted process would.
type Node struct {
	Name    string
	Index   int
	Store   *store.Store
	Members *membership.Service
	Files   *files.Service
	Names   *names.Service // with Options.Names
	Host    *virtnet.Host
	up      bool
}

// Registry is the node's member table.
func (n *Node) Registry() *registry.Registry { return n.Members.Registry() }

// Up reports whether the node runs.
func (n *Node) Up() bool { return n.up }

// Cluster is a set of virtual nodes on one network.
type Cluster struct {
	T     testing.TB
	Net   *virtnet.Net
	Nodes []*Node
	// Seed is the run's seed; Rand draws from it (which nodes to kill...).
	Seed uint64
	Rand *rand.Rand

	opts Options
	mu   sync.Mutex
}

// New starts n nodes, the first as every other's seed, and waits until all
// see each other. The seed comes from EMERGE_VNET_SEED or the clock and is
// logged, so a failing run can be replayed.
func New(t testing.TB, n int, opts Options) *Cluster {
	t.Helper()
	opts.fill()
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv(SeedEnv); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", SeedEnv, v, err)
		}
		seed = s
	}
	t.Logf("virtual network seed %d (replay: %s=%d)", seed, SeedEnv, seed)
	net, err := virtnet.New(virtnet.Config{Seed: seed, Link: opts.Link, Logger: opts.Logger})
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{T: t, Net: net, Seed: seed, Rand: rand.New(rand.NewPCG(seed, 1)), opts: opts}
	t.Cleanup(c.close)
	for i := 0; i < n; i++ {
		c.Nodes = append(c.Nodes, c.open(i))
	}
	c.startAll()
	c.WaitConverged(c.Nodes, n)
	return c
}

func nodeName(i int) string { return fmt.Sprintf("n%03d", i) }

// open makes node i's store.
func (c *Cluster) open(i int) *Node {
	st, err := store.Open(store.Config{InMemory: true, MemTableSize: 4 << 20, BlockCacheSize: 1 << 20,
		GCInterval: -1, Logger: c.opts.Logger})
	if err != nil {
		c.T.Fatal(err)
	}
	return &Node{Name: nodeName(i), Index: i, Store: st}
}

// startAll starts every node at once (many goroutines share two cores).
func (c *Cluster) startAll() {
	var wg sync.WaitGroup
	for _, n := range c.Nodes {
		wg.Add(1)
		go func() { defer wg.Done(); c.Start(n.Index) }()
	}
	wg.Wait()
}

// Start (re)starts node i on its store: membership joins through node 0
// (or, for node 0, through the members it remembers).
func (c *Cluster) Start(i int) {
	n := c.Nodes[i]
	if n.up {
		return
	}
	mux := rpc.NewMux()
	g := &gate{mux: mux}
	host, err := c.Net.Attach(n.Name, g)
	if err != nil {
		c.T.Fatal(err)
	}
	var seeds []string
	if i != 0 {
		seeds = []string{virtnet.Endpoint(nodeName(0))}
	}
	log := c.opts.Logger.With().Str("node", n.Name).Logger()
	hb := c.opts.Heartbeat
	self := registry.Member{ID: n.Name, RPC: host.Endpoint(), Pub: host.Bus().Endpoint(), Host: "vhost-" + n.Name,
		Incarnation: 1}
	var fs *files.Service
	var mem *membership.Service
	nsvc := c.startNames(i, host, func() *membership.Service { return mem })
	mem, err = membership.New(membership.Config{Self: self, Heartbeat: hb, SuspectAfter: 10 * hb, DeadAfter: 25 * hb,
		Seeds: seeds, Bus: host.Bus(), Caller: host, Meta: n.Store, Logger: log,
		OnMessage: func(m pubsub.Message) {
			if nsvc == nil || !nsvc.HandleMessage(m) {
				fs.HandleMessage(m)
			}
		},
		OnEvent: func(e registry.Event) { fs.MemberEvent(e) }})
	if err != nil {
		c.T.Fatal(err)
	}
	fcfg := files.Config{Store: n.Store, Net: files.NewNetwork(mem.Registry(), host, host.Bus()),
		BlockSize: c.opts.BlockSize, Replicas: c.opts.Replicas, LocateTimeout: c.opts.LocateTimeout,
		PrefetchAnnounce: 5 * hb, Logger: log}
	if c.opts.Files != nil {
		c.opts.Files(i, &fcfg)
	}
	if fs, err = files.New(fcfg); err != nil {
		c.T.Fatal(err)
	}
	mem.Register(mux)
	fs.Register(mux)
	if nsvc != nil {
		nsvc.Register(mux)
		nsvc.Start()
	}
	g.ready.Store(true)
	n.Members, n.Files, n.Names, n.Host, n.up = mem, fs, nsvc, host, true
	mem.Start(context.Background())
}

// Kill stops node i as a crash would: its connections drop, its services
// stop without telling anyone. Its store stays for Start.
func (c *Cluster) Kill(i int) {
	n := c.Nodes[i]
	if !n.up {
		return
	}
	n.Host.Close()
	n.Members.Close()
	n.Files.Close()
	if n.Names != nil {
		n.Names.Close()
		n.Names.Namespace().Close()
	}
	n.up = false
}

// Live returns the nodes that run.
func (c *Cluster) Live() []*Node {
	var out []*Node
	for _, n := range c.Nodes {
		if n.up {
			out = append(out, n)
		}
	}
	return out
}

// WaitConverged waits until every node of nodes sees want live members.
func (c *Cluster) WaitConverged(nodes []*Node, want int) {
	c.T.Helper()
	c.WaitFor(time.Minute, fmt.Sprintf("%d nodes to see %d live members", len(nodes), want), func() bool {
		for _, n := range nodes {
			if len(n.Registry().Live()) != want {
				return false
			}
		}
		return true
	})
}

// WaitFor polls cond until it holds, failing the test after d.
func (c *Cluster) WaitFor(d time.Duration, what string, cond func() bool) {
	c.T.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			c.T.Fatalf("timed out after %s waiting for %s (seed %d)", d, what, c.Seed)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// close stops every node, checks each store's consistency, and closes the
// stores.
func (c *Cluster) close() {
	var wg sync.WaitGroup
	for _, n := range c.Nodes {
		wg.Add(1)
		go func() { defer wg.Done(); c.Kill(n.Index) }()
	}
	wg.Wait()
	for _, n := range c.Nodes {
		if problems, err := n.Store.Check(); err != nil || len(problems) > 0 {
			c.T.Errorf("node %s: store inconsistent: %v %v (seed %d)", n.Name, err, problems, c.Seed)
		}
		n.Store.Close()
	}
}

// JoinGroup puts node i in group g, as `emerge group join` does: the
// record changes, the heartbeat spreads it, the object service looks for
// prefetches that now target the node.
func (c *Cluster) JoinGroup(i int, g string) {
	n := c.Nodes[i]
	if _, err := n.Registry().JoinGroup(g); err != nil {
		c.T.Fatal(err)
	}
	n.Members.Heartbeat()
	n.Files.GroupsChanged()
}

// Holders returns the running nodes that store every block of ids.
func (c *Cluster) Holders(ids ...blocks.ID) []*Node {
	var out []*Node
	for _, n := range c.Live() {
		has, err := n.Store.HasBlocks(ids)
		if err != nil {
			continue
		}
		all := true
		for _, h := range has {
			all = all && h
		}
		if all {
			out = append(out, n)
		}
	}
	return out
}

// gate answers "unavailable" until the node's handlers are registered, as
// a node does until it has started.
type gate struct {
	ready atomic.Bool
	mux   *rpc.Mux
}

func (g *gate) Serve(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	if !g.ready.Load() {
		return nil, rpc.Errorf(rpc.ErrUnavailable, "starting")
	}
	return g.mux.Serve(ctx, m)
}

// startNames opens node i's namespace on its store and makes its service
// (started once its handlers are registered); nil without Options.Names.
func (c *Cluster) startNames(i int, host *virtnet.Host, mem func() *membership.Service) *names.Service {
	if !c.opts.Names {
		return nil
	}
	n := c.Nodes[i]
	cfg := names.Config{Node: n.Name, Storage: n.Store, Logger: c.opts.Logger}
	if c.opts.NamesClock != nil {
		cfg.Now = c.opts.NamesClock(i)
	}
	ns, err := names.Open(cfg)
	if err != nil {
		c.T.Fatal(err)
	}
	live := func() []string {
		var out []string
		for _, m := range mem().Registry().Live() {
			if m.ID != n.Name {
				out = append(out, m.RPC)
			}
		}
		return out
	}
	svc, err := names.NewService(names.ServiceConfig{Namespace: ns, SyncInterval: c.opts.NamesSync, Logger: c.opts.Logger,
		Transport: names.Net{Bus: host.Bus(), Caller: host, Live: live, Timeout: 2 * time.Second}})
	if err != nil {
		c.T.Fatal(err)
	}
	return svc
}
