package client

import (
	"context"
	"fmt"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/rpc"
)

// Holders says which live members hold each block of an object.
type Holders struct {
	Ref      blocks.Ref    `json:"-"`
	RefText  string        `json:"ref"`
	Replicas int           `json:"replicas"` // the target
	Blocks   []BlockCopies `json:"blocks"`
	// Silent are live members that did not answer: their copies are unknown.
	Silent []string `json:"silent,omitempty"`
}

// BlockCopies is one block of Holders: the members holding a durable copy,
// best rendezvous rank first, and those holding only a cache copy.
type BlockCopies struct {
	ID     string   `json:"block"`
	Owners []string `json:"owners"`
	Caches []string `json:"caches,omitempty"`
}

// Copies is the number of durable copies of the block.
func (b BlockCopies) Copies() int { return len(b.Owners) }

// UnderTarget counts the blocks with fewer durable copies than the target.
func (h Holders) UnderTarget() int {
	n := 0
	for _, b := range h.Blocks {
		if len(b.Owners) < h.Replicas {
			n++
		}
	}
	return n
}

// Holders asks the node to find, among the live members, who holds each
// block of ref (a census: every member is asked).
func (c *Client) Holders(ctx context.Context, ref blocks.Ref) (Holders, error) {
	m, err := c.call(ctx, rpc.OpHolders, &rpc.RefReq{Ref: ref[:]}, nil)
	if err != nil {
		return Holders{}, fmt.Errorf("holders %s: %w", ref.Short(), matchDeleted(err))
	}
	var rep rpc.HoldersRep
	if err := m.Decode(&rep); err != nil {
		return Holders{}, err
	}
	h := Holders{Ref: ref, RefText: ref.String(), Replicas: rep.Replicas, Silent: rep.Silent}
	for _, b := range rep.Blocks {
		var id blocks.ID
		copy(id[:], b.ID)
		h.Blocks = append(h.Blocks, BlockCopies{ID: id.String(), Owners: b.Owners, Caches: b.Caches})
	}
	return h, nil
}

// Health is a node's view of the durability of what it holds.
type Health struct {
	Node string `json:"node"`
	// From the node's last repair pass over the blocks it holds as owner:
	ObjectsUnderTarget int       `json:"objects_under_target"`
	BlocksUnderTarget  int       `json:"blocks_under_target"`
	BlocksOverTarget   int       `json:"blocks_over_target"`
	LastRepairPass     time.Time `json:"last_repair_pass"` // zero: none yet
	RepairDeferred     string    `json:"repair_deferred,omitempty"`
	RepairQueue        int       `json:"repair_queue"`
	RepairedCopies     int64     `json:"repaired_copies"`
	RepairedBytes      int64     `json:"repaired_bytes"`
	TrimmedCopies      int64     `json:"trimmed_copies"`
	ScrubPasses        int64     `json:"scrub_passes"`
	ScrubChecked       int64     `json:"scrub_checked_blocks"`
	LastScrubPass      time.Time `json:"last_scrub_pass"` // zero: none finished yet
	CorruptCopies      int64     `json:"corrupt_copies"`  // bad copies found and quarantined since the node started
}

// Health asks the node for its repair and scrub state.
func (c *Client) Health(ctx context.Context) (Health, error) {
	m, err := c.call(ctx, rpc.OpHealth, &rpc.Header{}, nil)
	if err != nil {
		return Health{}, fmt.Errorf("health: %w", err)
	}
	var r rpc.HealthRep
	if err := m.Decode(&r); err != nil {
		return Health{}, err
	}
	return Health{Node: r.Node, ObjectsUnderTarget: r.ObjectsUnder, BlocksUnderTarget: r.BlocksUnder,
		BlocksOverTarget: r.BlocksOver, LastRepairPass: unixTime(r.LastPass), RepairDeferred: r.PassDeferred,
		RepairQueue: r.RepairQueue, RepairedCopies: r.RepairedCopies, RepairedBytes: r.RepairedBytes,
		TrimmedCopies: r.TrimmedCopies, ScrubPasses: r.ScrubPasses, ScrubChecked: r.ScrubChecked,
		LastScrubPass: unixTime(r.ScrubLast), CorruptCopies: r.Corrupt}, nil
}
