package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/rpc"
)

// ErrPrefetchFailed: a target of a prefetch gave up.
var ErrPrefetchFailed = errors.New("prefetch failed")

// Prefetch asks the node, which must know ref, to spread it in the
// background to every member of groups and to nodes (node ids).
func (c *Client) Prefetch(ctx context.Context, ref blocks.Ref, groups, nodes []string) error {
	_, err := c.call(ctx, rpc.OpPrefetch, &rpc.PrefetchReq{Ref: ref[:], Groups: groups, Nodes: nodes}, nil)
	if err != nil {
		return fmt.Errorf("prefetch %s: %w", ref.Short(), err)
	}
	return nil
}

// PrefetchNode is one target's progress.
type PrefetchNode struct {
	Node     string    `json:"node"`
	State    string    `json:"state"` // unknown, running, done, failed
	Blocks   int       `json:"blocks"`
	Total    int       `json:"total"`
	Bytes    int64     `json:"bytes"`
	Size     int64     `json:"size"`
	Served   int64     `json:"served"` // bytes the node served to peers, all objects
	Attempts int       `json:"attempts,omitempty"`
	Error    string    `json:"error,omitempty"`
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
}

// PrefetchStatus is the progress of a prefetch on every live target.
type PrefetchStatus struct {
	Ref    string         `json:"ref"`
	Source string         `json:"source"`
	Groups []string       `json:"groups,omitempty"`
	Served int64          `json:"served"` // bytes the answering node served to peers
	Nodes  []PrefetchNode `json:"nodes"`
}

// Done reports whether every target holds the object; failed lists the
// targets that gave up.
func (s PrefetchStatus) Done() (done bool, failed []string) {
	done = true
	for _, n := range s.Nodes {
		switch n.State {
		case "done":
		case "failed":
			failed = append(failed, n.Node)
		default:
			done = false
		}
	}
	return done, failed
}

// Progress is the bytes held over the bytes wanted, over all targets.
func (s PrefetchStatus) Progress() (held, want int64) {
	for _, n := range s.Nodes {
		held += n.Bytes
		want += n.Size
	}
	return held, want
}

// PrefetchStatus asks the node for the progress of the prefetch of ref on
// every live target.
func (c *Client) PrefetchStatus(ctx context.Context, ref blocks.Ref) (PrefetchStatus, error) {
	m, err := c.call(ctx, rpc.OpPrefetchStatus, &rpc.PrefetchStatusReq{Ref: ref[:]}, nil)
	if err != nil {
		return PrefetchStatus{}, fmt.Errorf("prefetch status %s: %w", ref.Short(), err)
	}
	var rep rpc.PrefetchStatusRep
	if err := m.Decode(&rep); err != nil {
		return PrefetchStatus{}, err
	}
	st := PrefetchStatus{Ref: ref.String(), Source: rep.Source, Groups: rep.Groups, Served: rep.Served,
		Nodes: make([]PrefetchNode, len(rep.Nodes))}
	for i, w := range rep.Nodes {
		st.Nodes[i] = PrefetchNode{Node: w.Node, State: w.State, Blocks: w.Blocks, Total: w.Total, Bytes: w.Bytes,
			Size: w.Size, Served: w.Served, Attempts: w.Attempts, Error: w.Error, Started: unixTime(w.Started),
			Finished: unixTime(w.Finished)}
	}
	return st, nil
}

func unixTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// WaitPrefetch polls the prefetch of ref every interval (default 200 ms)
// until every live target holds it, calling progress (may be nil) with each
// status. It fails with ErrPrefetchFailed when a target gave up.
func (c *Client) WaitPrefetch(ctx context.Context, ref blocks.Ref, interval time.Duration, progress func(PrefetchStatus)) (PrefetchStatus, error) {
	if interval <= 0 {
		interval = 200 * time.Millisecond
	}
	for {
		st, err := c.PrefetchStatus(ctx, ref)
		if err != nil {
			return st, err
		}
		if progress != nil {
			progress(st)
		}
		done, failed := st.Done()
		if len(failed) > 0 {
			return st, fmt.Errorf("%w on %v", ErrPrefetchFailed, failed)
		}
		if done {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(interval):
		}
	}
}

// prefetchAfter starts the prefetch a put asked for once the object is
// stored, unless the node started it with the put. A failure to start it
// is the put's error, with the ref returned: the object is stored either
// way.
func (c *Client) prefetchAfter(ctx context.Context, res PutResult, err error, o PutOptions) error {
	if err != nil || res.prefetching || len(o.PrefetchGroups)+len(o.PrefetchNodes) == 0 {
		return err
	}
	return c.Prefetch(ctx, res.Ref, o.PrefetchGroups, o.PrefetchNodes)
}
