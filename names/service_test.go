package names

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
)

// memNet connects services in memory: broadcasts reach the nodes on the
// sender's side of a partition, and only some of them (loss); rpc works
// within a side.
type memNet struct {
	mu    sync.Mutex
	nodes map[string]*Service
	side  map[string]int // partition side of each node
	loss  float64
	rng   *rand.Rand
}

type memTransport struct {
	net  *memNet
	self string
}

func (t memTransport) Publish(ctx context.Context, entries []Entry) error {
	t.net.mu.Lock()
	var to []*Service
	for id, s := range t.net.nodes {
		if id != t.self && t.net.side[id] == t.net.side[t.self] && t.net.rng.Float64() >= t.net.loss {
			to = append(to, s)
		}
	}
	t.net.mu.Unlock()
	for _, s := range to {
		s.Apply(entries)
	}
	return nil
}

func (t memTransport) Peers() []string {
	t.net.mu.Lock()
	defer t.net.mu.Unlock()
	var out []string
	for id := range t.net.nodes {
		if id != t.self && t.net.side[id] == t.net.side[t.self] {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func (t memTransport) peer(id string) (*Service, error) {
	t.net.mu.Lock()
	defer t.net.mu.Unlock()
	if t.net.side[id] != t.net.side[t.self] {
		return nil, errors.New("unreachable")
	}
	return t.net.nodes[id], nil
}

func (t memTransport) Digests(ctx context.Context, id string) ([]uint64, error) {
	s, err := t.peer(id)
	if err != nil {
		return nil, err
	}
	return s.Namespace().Digests(), nil
}

func (t memTransport) Pull(ctx context.Context, id string, b int) ([]Entry, error) {
	s, err := t.peer(id)
	if err != nil {
		return nil, err
	}
	return s.Namespace().Bucket(b), nil
}

func newMemCluster(t *testing.T, n int, loss float64, seed uint64) (*memNet, []*Service) {
	net := &memNet{nodes: map[string]*Service{}, side: map[string]int{}, loss: loss, rng: rand.New(rand.NewPCG(seed, 1))}
	var out []*Service
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("node%02d", i)
		skew := time.Duration(net.rng.IntN(10001)-5000) * time.Millisecond // ±5 s
		ns := open(t, id, nil, func() time.Time { return time.Now().Add(skew) })
		s, err := NewService(ServiceConfig{Namespace: ns, Transport: memTransport{net: net, self: id}, SyncInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		net.nodes[id] = s
		out = append(out, s)
	}
	return net, out
}

// syncRound has every node sync with one random peer of its side.
func syncRound(t *testing.T, ss []*Service, rng *rand.Rand) {
	for _, s := range ss {
		peers := s.cfg.Transport.Peers()
		if len(peers) == 0 {
			continue
		}
		if _, err := s.SyncWith(context.Background(), peers[rng.IntN(len(peers))]); err != nil {
			t.Fatal(err)
		}
	}
}

func converged(ss []*Service) bool {
	want := fmt.Sprint(ss[0].Namespace().Digests())
	for _, s := range ss[1:] {
		if fmt.Sprint(s.Namespace().Digests()) != want {
			return false
		}
	}
	return true
}

// 50 nodes with ±5 s clock skew and 30% broadcast loss write concurrently
// on both sides of a partition; after the heal anti-entropy makes every
// namespace identical, and each side's writes survive in LWW order.
func TestServicePartitionSkewConverge(t *testing.T) {
	n := 50
	if testing.Short() {
		n = 12
	}
	net, ss := newMemCluster(t, n, 0.3, 42)
	rng := rand.New(rand.NewPCG(9, 9))
	for i, s := range ss {
		net.side[s.Namespace().Node()] = i % 2
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	var written atomic.Int64
	for i, s := range ss {
		wg.Add(1)
		go func(i int, s *Service) {
			defer wg.Done()
			for k := 0; k < 20; k++ {
				p := fmt.Sprintf("/run/p%d", (i*7+k)%15)
				var err error
				if k%9 == 8 {
					_, _, err = s.Remove(ctx, p, k%2 == 0)
					if errors.Is(err, ErrNotFound) || errors.Is(err, ErrRemoved) {
						continue // nothing to remove on this side yet
					}
				} else {
					_, err = s.Bind(ctx, p, ref(i*100+k), BindOptions{})
				}
				if err != nil {
					t.Error(err)
					return
				}
				written.Add(1)
			}
		}(i, s)
	}
	wg.Wait()
	for i := 0; i < 200 && !sidesConverged(net, ss); i++ {
		syncRound(t, ss, rng)
	}
	if converged(ss) {
		t.Fatal("both sides of the partition converged without exchanging anything")
	}
	net.mu.Lock()
	for id := range net.side {
		net.side[id] = 0
	}
	net.mu.Unlock()
	rounds := 0
	for ; !converged(ss) && rounds < 200; rounds++ {
		syncRound(t, ss, rng)
	}
	if !converged(ss) {
		t.Fatalf("not converged after %d rounds", rounds)
	}
	t.Logf("%d nodes converged %d sync rounds after the heal", n, rounds)
	want := snapshot(t, ss[0].Namespace())
	for _, s := range ss[1:] {
		if snapshot(t, s.Namespace()) != want {
			t.Fatal("same digests, different namespace")
		}
	}
	if got := ss[0].Namespace().Len(); int64(got) != written.Load() {
		t.Fatalf("%d entries after the heal, %d written", got, written.Load())
	}
}

func sidesConverged(net *memNet, ss []*Service) bool {
	var a, b []*Service
	for _, s := range ss {
		if net.side[s.Namespace().Node()] == 0 {
			a = append(a, s)
		} else {
			b = append(b, s)
		}
	}
	return converged(a) && converged(b)
}

func TestServiceMoveRemoveOrphans(t *testing.T) {
	_, ss := newMemCluster(t, 2, 0, 1)
	a, b := ss[0], ss[1]
	ctx := context.Background()
	if _, err := a.Bind(ctx, "/x", ref(1), BindOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Bind(ctx, "/y", ref(1), BindOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Bind(ctx, "/x", ref(2), BindOptions{}); err != nil {
		t.Fatal(err)
	}
	_, orphans, err := b.Remove(ctx, "/x", true)
	if err != nil || !slices.Equal(orphans, []blocks.Ref{ref(2)}) {
		t.Fatalf("orphans %v, %v (ref 1 is still named /y)", orphans, err)
	}
	if _, _, err := b.Remove(ctx, "/x", true); !errors.Is(err, ErrRemoved) {
		t.Fatalf("second rm: %v", err)
	}
	e, err := a.Move(ctx, "/y", "/z/y")
	if err != nil || e.Ref != ref(1) {
		t.Fatalf("mv: %+v %v", e, err)
	}
	if _, err := b.Resolve(ctx, "/y"); !errors.Is(err, ErrRemoved) {
		t.Fatalf("/y after mv: %v", err)
	}
	if got, err := b.Resolve(ctx, "/z/y@1"); err != nil || got.Ref != ref(1) {
		t.Fatalf("/z/y@1: %+v %v", got, err)
	}
	// Mode: a name kept to its owner refuses another node's overwrite.
	if _, err := a.Bind(ctx, "/mine", ref(3), BindOptions{Mode: 0o644}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Bind(ctx, "/mine", ref(4), BindOptions{}); !errors.Is(err, ErrDenied) {
		t.Fatalf("overwrite by another owner: %v", err)
	}
}
