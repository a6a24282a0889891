package client

import (
	"context"
	"fmt"

	"github.com/emerge-dev/emerge/rpc"
)

// NodeStatus is a node's identity and store counters.
type NodeStatus struct {
	ID         string `json:"node"`
	Host       string `json:"host"`
	Version    string `json:"version"`
	Endpoint   string `json:"rpc"`
	Objects    int64  `json:"objects"`
	Blocks     int64  `json:"blocks"`
	BlockBytes int64  `json:"block_bytes"`
	DiskBytes  int64  `json:"disk_bytes"`
	Uploads    int    `json:"uploads_open"`
	Served     int64  `json:"served"` // block bytes served to peers since the node started
	// Shm describes the node's shared memory; nil when it is off.
	Shm *ShmStatus `json:"shm,omitempty"`
}

// Status asks the node for its counters.
func (c *Client) Status(ctx context.Context) (NodeStatus, error) {
	m, err := c.call(ctx, rpc.OpInfo, &rpc.Header{}, nil)
	if err != nil {
		return NodeStatus{}, fmt.Errorf("info: %w", err)
	}
	var r rpc.InfoRep
	if err := m.Decode(&r); err != nil {
		return NodeStatus{}, err
	}
	return NodeStatus{ID: r.Node, Host: r.Host, Version: r.Version, Endpoint: r.Endpoint, Objects: r.Objects,
		Blocks: r.Blocks, BlockBytes: r.BlockBytes, DiskBytes: r.DiskBytes, Uploads: r.Uploads,
		Served: r.Served, Shm: shmStatus(r.Shm)}, nil
}
