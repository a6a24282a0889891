package client

import (
	"context"
	"fmt"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/rpc"
)

// Info describes an object.
type Info struct {
	Ref         blocks.Ref        `json:"ref"`
	Size        int64             `json:"size"`
	BlockSize   int               `json:"block_size"`
	Blocks      int               `json:"blocks"`
	Replicas    int               `json:"replicas"`
	Created     time.Time         `json:"created"`
	ContentType string            `json:"content_type,omitempty"`
	Meta        map[string]string `json:"meta,omitempty"`
	// Local is how many of the blocks the answering node holds (Stat only).
	Local int `json:"local_blocks"`
}

func infoFrom(w rpc.ObjectInfo) (Info, error) {
	ref, err := rpc.ParseRef(w.Ref)
	if err != nil {
		return Info{}, err
	}
	return Info{Ref: ref, Size: w.Size, BlockSize: w.BlockSize, Blocks: w.Blocks, Replicas: w.Replicas,
		Created: time.Unix(0, w.Created).UTC(), ContentType: w.ContentType, Meta: w.Meta, Local: w.Local}, nil
}

// Stat describes an object.
func (c *Client) Stat(ctx context.Context, ref blocks.Ref) (Info, error) {
	m, err := c.call(ctx, rpc.OpStat, &rpc.RefReq{Ref: ref[:]}, nil)
	if err != nil {
		return Info{}, fmt.Errorf("stat %s: %w", ref, err)
	}
	var rep rpc.StatRep
	if err := m.Decode(&rep); err != nil {
		return Info{}, err
	}
	return infoFrom(rep.Info)
}

// Delete removes an object and returns the bytes the node freed.
func (c *Client) Delete(ctx context.Context, ref blocks.Ref) (int64, error) {
	m, err := c.call(ctx, rpc.OpDelete, &rpc.RefReq{Ref: ref[:]}, nil)
	if err != nil {
		return 0, fmt.Errorf("delete %s: %w", ref, err)
	}
	var rep rpc.DeleteRep
	if err := m.Decode(&rep); err != nil {
		return 0, err
	}
	return rep.Freed, nil
}

// ListOptions page through objects.
type ListOptions struct {
	After blocks.Ref // start after this ref (zero: from the first)
	Limit int        // page size (0: the node's maximum, 1000)
}

// List returns one page of objects in ref order, and the After value of the
// next page (zero at the end).
func (c *Client) List(ctx context.Context, o ListOptions) ([]Info, blocks.Ref, error) {
	req := &rpc.ListReq{Limit: o.Limit}
	if !o.After.IsZero() {
		req.After = o.After[:]
	}
	m, err := c.call(ctx, rpc.OpList, req, nil)
	if err != nil {
		return nil, blocks.Ref{}, fmt.Errorf("list: %w", err)
	}
	var rep rpc.ListRep
	if err := m.Decode(&rep); err != nil {
		return nil, blocks.Ref{}, err
	}
	out := make([]Info, 0, len(rep.Items))
	for _, w := range rep.Items {
		info, err := infoFrom(w)
		if err != nil {
			return nil, blocks.Ref{}, err
		}
		out = append(out, info)
	}
	var next blocks.Ref
	if len(rep.Next) > 0 {
		if next, err = rpc.ParseRef(rep.Next); err != nil {
			return nil, blocks.Ref{}, err
		}
	}
	return out, next, nil
}

// ListAll returns every object.
func (c *Client) ListAll(ctx context.Context) ([]Info, error) {
	all := []Info{}
	var after blocks.Ref
	for {
		page, next, err := c.List(ctx, ListOptions{After: after})
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if next.IsZero() {
			return all, nil
		}
		after = next
	}
}
