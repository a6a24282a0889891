package virtnet

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/emerge-dev/emerge/pubsub"
	"github.com/emerge-dev/emerge/rpc"
	"github.com/rs/zerolog"
)

// Scheme prefixes the rpc endpoints of the hosts: "vnet://" + name.
const Scheme = "vnet://"

// Endpoint is the rpc endpoint of the host named name.
func Endpoint(name string) string { return Scheme + name }

// Link describes one direction of the link between two hosts.
type Link struct {
	// Latency is added to every message, Jitter is a random extra in
	// [0, Jitter).
	Latency, Jitter time.Duration
	// Bandwidth in bytes per second; 0: unlimited. Messages on one link
	// queue behind each other.
	Bandwidth int64
	// Loss is the share of bus messages dropped (rpc rides on a reliable
	// stream and is never dropped).
	Loss float64
}

// Config configures a Net.
type Config struct {
	// Seed seeds every random draw (jitter, bus loss).
	Seed uint64
	// Link is the default of every link; SetLink overrides one.
	Link Link
	// Limits caps what a request or reply may carry, as on a socket.
	Limits rpc.Limits
	// Logger receives the handlers' panics and debug lines; default silent.
	Logger zerolog.Logger
}

// ErrNoHost: Attach of a name in use, or a name that is not allowed.
var ErrNoHost = errors.New("virtnet: bad host")

// Net is the virtual network.
type Net struct {
	cfg Config
	hub *pubsub.Hub

	mu        sync.Mutex
	rng       *rand.Rand
	hosts     map[string]*Host
	links     map[[2]string]Link
	busy      map[[2]string]time.Time // when each directed link is free
	frozen    map[string]bool
	partition map[string]int // host -> side; hosts on different sides cannot talk
	thawed    chan struct{}  // closed and replaced at every Thaw
}

// New returns an empty network.
func New(cfg Config) (*Net, error) {
	n := &Net{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5851f42d4c957f2d)), hosts: map[string]*Host{},
		links: map[[2]string]Link{}, busy: map[[2]string]time.Time{}, frozen: map[string]bool{},
		partition: map[string]int{}, thawed: make(chan struct{})}
	hub, err := pubsub.NewHub(pubsub.HubOptions{Seed: cfg.Seed, Link: n.busLink, Queue: 4096, Buffer: 4096,
		Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	n.hub = hub
	return n, nil
}

// SetLink sets the link from host a to host b (one direction).
func (n *Net) SetLink(a, b string, l Link) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.links[[2]string{a, b}] = l
}

// Partition splits the hosts into sides: hosts on different sides reach
// each other no more (requests hang, bus messages are lost). Hosts not
// named are on side 0 with the first group.
func (n *Net) Partition(groups ...[]string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.partition = map[string]int{}
	for side, g := range groups {
		for _, h := range g {
			n.partition[h] = side
		}
	}
}

// Heal ends a partition.
func (n *Net) Heal() { n.Partition() }

// Freeze stops host name as SIGSTOP would, seen from outside: requests to
// it and from it hang, its bus messages are lost, it hears nothing.
// Connections stay open.
func (n *Net) Freeze(name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.frozen[name] = true
}

// Thaw undoes Freeze: held requests go on.
func (n *Net) Thaw(name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.frozen, name)
	close(n.thawed)
	n.thawed = make(chan struct{})
}

// cut reports whether a and b cannot talk (partition), and the channel
// that closes at the next Thaw when either is frozen (nil when neither).
func (n *Net) cut(a, b string) (bool, <-chan struct{}) {
	n.mu.Lock()
	defer n.mu.Unlock()
	parted := n.partition[a] != n.partition[b]
	if n.frozen[a] || n.frozen[b] {
		return parted, n.thawed
	}
	return parted, nil
}

// busLink is the hub's view of the links: drop across a partition and to
// or from frozen hosts, draw loss, add latency.
func (n *Net) busLink(from, to string) (bool, time.Duration) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.partition[from] != n.partition[to] || n.frozen[from] || n.frozen[to] {
		return true, 0
	}
	l := n.linkLocked(from, to)
	if l.Loss > 0 && n.rng.Float64() < l.Loss {
		return true, 0
	}
	return false, n.latencyLocked(l)
}

func (n *Net) linkLocked(a, b string) Link {
	if l, ok := n.links[[2]string{a, b}]; ok {
		return l
	}
	return n.cfg.Link
}

func (n *Net) latencyLocked(l Link) time.Duration {
	d := l.Latency
	if l.Jitter > 0 {
		d += time.Duration(n.rng.Int64N(int64(l.Jitter)))
	}
	return d
}

// arrival reserves the link from a to b for size bytes and returns when
// they arrive.
func (n *Net) arrival(a, b string, size int64) time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	l := n.linkLocked(a, b)
	now := time.Now()
	at := now
	if l.Bandwidth > 0 {
		key := [2]string{a, b}
		start := n.busy[key]
		if start.Before(now) {
			start = now
		}
		at = start.Add(time.Duration(float64(size) / float64(l.Bandwidth) * float64(time.Second)))
		n.busy[key] = at
	}
	return at.Add(n.latencyLocked(l))
}

// Attach adds a host named name, serving requests with h. Its rpc endpoint
// is Endpoint(name), its bus endpoint pubsub.MemEndpoint(name). A name may
// be attached again once its host is closed (a restart).
func (n *Net) Attach(name string, h rpc.Handler) (*Host, error) {
	if name == "" || strings.ContainsAny(name, "/ ") {
		return nil, fmt.Errorf("%w: name %q", ErrNoHost, name)
	}
	if old := n.lookup(Endpoint(name)); old != nil && !old.isClosed() {
		return nil, fmt.Errorf("%w: %q attached twice", ErrNoHost, name)
	}
	// The hub's lock is taken before n.mu (broadcast asks busLink), never
	// inside it.
	bus, err := n.hub.NewBus(name)
	if err != nil {
		return nil, err
	}
	host := newHost(n, name, h, bus)
	n.mu.Lock()
	n.hosts[name] = host
	n.mu.Unlock()
	return host, nil
}

func (n *Net) lookup(endpoint string) *Host {
	name, ok := strings.CutPrefix(endpoint, Scheme)
	if !ok {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.hosts[name]
}
