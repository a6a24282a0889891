package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/names"
	"github.com/emerge-dev/emerge/registry"
	"github.com/emerge-dev/emerge/rpc"
	"github.com/vmihailenco/msgpack/v5"
)

// followMeta is the store meta record of the node's follow rules.
const followMeta = "names_follow"

// followQueue caps the prefetches waiting to start; more are dropped (and
// logged): the next version is prefetched anyway.
const followQueue = 256

// follower spreads each new latest version of a followed name to the
// rule's groups: "emerge prefetch follow /policy/ --group actor". Rules are
// this node's own (persisted in its store); one goroutine starts the
// prefetches.
type follower struct {
	n     *Node
	mu    sync.Mutex
	rules []rpc.NameFollow
	jobs  chan followJob
	stop  chan struct{}
	done  chan struct{}
}

type followJob struct {
	ref    blocks.Ref
	path   string
	groups []string
}

func (n *Node) startFollower() error {
	f := &follower{n: n, jobs: make(chan followJob, followQueue), stop: make(chan struct{}), done: make(chan struct{})}
	b, err := n.store.GetMeta(followMeta)
	switch {
	case errors.Is(err, blocks.ErrNotFound):
	case err != nil:
		return fmt.Errorf("node: follow rules: %w", err)
	default:
		if err := msgpack.Unmarshal(b, &f.rules); err != nil {
			return fmt.Errorf("node: follow rules: %w", err)
		}
	}
	n.follow = f
	go f.run()
	return nil
}

func (f *follower) close() {
	select {
	case <-f.stop:
	default:
		close(f.stop)
	}
	<-f.done
}

// run starts the queued prefetches one at a time.
func (f *follower) run() {
	defer close(f.done)
	for {
		select {
		case <-f.stop:
			return
		case j := <-f.jobs:
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if err := f.n.files.Prefetch(ctx, j.ref, j.groups, nil); err != nil {
				f.n.log.Warn().Err(err).Str("path", j.path).Str("ref", j.ref.Short()).Msg("names: follow prefetch")
			}
			cancel()
		}
	}
}

// newEntries is the names service's OnNew: a new entry that is the latest
// version of a followed name is queued for prefetch.
func (f *follower) newEntries(entries []names.Entry) {
	f.mu.Lock()
	rules := f.rules
	f.mu.Unlock()
	for _, e := range entries {
		if e.Tombstone {
			continue
		}
		groups := matchFollow(rules, e.Path)
		if len(groups) == 0 {
			continue
		}
		if cur, err := f.n.ns.Resolve(e.Path, 0); err != nil || cur.Key() != e.Key() {
			continue // an older version heard late, or removed since
		}
		select {
		case f.jobs <- followJob{ref: e.Ref, path: e.Path, groups: groups}:
		default:
			f.n.log.Warn().Str("path", e.Path).Msg("names: follow queue full, version not prefetched")
		}
	}
}

// matchFollow returns the groups of every rule whose prefix holds path.
func matchFollow(rules []rpc.NameFollow, path string) []string {
	var out []string
	for _, r := range rules {
		if strings.HasPrefix(path, r.Prefix) {
			out = append(out, r.Groups...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// change applies a NameFollowReq and persists the rules.
func (f *follower) change(req rpc.NameFollowReq) ([]rpc.NameFollow, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if req.Prefix == "" {
		return slices.Clone(f.rules), nil
	}
	rules := slices.DeleteFunc(slices.Clone(f.rules), func(r rpc.NameFollow) bool { return r.Prefix == req.Prefix })
	if !req.Remove && len(req.Groups) > 0 {
		rules = append(rules, rpc.NameFollow{Prefix: req.Prefix, Groups: req.Groups})
		slices.SortFunc(rules, func(a, b rpc.NameFollow) int { return strings.Compare(a.Prefix, b.Prefix) })
	}
	if len(rules) > rpc.MaxNameFollows {
		return nil, rpc.Errorf(rpc.ErrTooLarge, "%d follow rules, limit %d", len(rules), rpc.MaxNameFollows)
	}
	b, err := msgpack.Marshal(rules)
	if err != nil {
		return nil, err
	}
	if err := f.n.store.PutMeta(followMeta, b); err != nil {
		return nil, err
	}
	f.rules = rules
	return slices.Clone(rules), nil
}

// nameFollow serves name_follow. A new rule also prefetches the latest
// version of every name already under its prefix.
func (n *Node) nameFollow(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.NameFollowReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	if err := checkFollow(req); err != nil {
		return nil, err
	}
	rules, err := n.follow.change(req)
	if err != nil {
		return nil, err
	}
	if req.Prefix != "" && !req.Remove && len(req.Groups) > 0 {
		items, err := n.names.List(ctx, req.Prefix, true)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			n.follow.newEntries([]names.Entry{it.Latest})
		}
	}
	return &rpc.Reply{Body: &rpc.NameFollowRep{Follows: rules}}, nil
}

func checkFollow(req rpc.NameFollowReq) error {
	if req.Prefix == "" {
		return nil
	}
	if err := names.ValidatePrefix(req.Prefix); err != nil {
		return err
	}
	if !req.Remove && len(req.Groups) == 0 {
		return rpc.Errorf(rpc.ErrBadRequest, "follow %s: no group named", req.Prefix)
	}
	for _, g := range req.Groups {
		if err := registry.ValidateGroup(g); err != nil {
			return fmt.Errorf("%w: %w", rpc.ErrBadRequest, err)
		}
	}
	return nil
}
