package registry

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Snapshot encodes every record in the table, self included, sorted by id:
// the msgpack array [version, [[id, rpc, pub, host, [groups], incarnation,
// left]...]]. Liveness is not saved. DecodeSnapshot reads it back; the same
// bytes serve as the table a peer pulls over rpc. The encoding is kept until
// a record changes, so the pulls of a converging cluster (every member asks
// every other) cost no encoding: callers must not modify it.
func (r *Registry) Snapshot() ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.snap != nil {
		return r.snap, nil
	}
	ms := make([]Member, 0, len(r.table))
	for _, e := range r.table {
		ms = append(ms, e.m)
	}
	slices.SortFunc(ms, func(a, b Member) int { return strings.Compare(a.ID, b.ID) })
	b, err := encodeSnapshot(ms)
	if err != nil {
		return nil, fmt.Errorf("registry: encode snapshot: %w", err)
	}
	r.snap = b
	return b, nil
}

// Restore merges a snapshot into the table, meant for a registry just
// created at start-up, before any gossip. The record under self's id is not
// taken: self keeps its configured endpoints and groups, but its incarnation
// goes above the stored one so the fresh record beats the old one everywhere
// (a node that wants its old groups back reads them with DecodeSnapshot).
//
// Other members start Suspect, not Alive: the snapshot may be old and this
// node has not heard them yet. They still count as live, so placement works
// at once; the first heartbeat makes them Alive, and those never heard turn
// Dead DeadAfter after the restore. Left members stay Left. Restore emits a
// Join for each member it adds. A malformed snapshot changes nothing.
func (r *Registry) Restore(b []byte) error {
	ms, err := DecodeSnapshot(b)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.cfg.Now()
	for _, m := range ms {
		if m.ID == r.selfID {
			r.restoreSelfLocked(m)
			continue
		}
		r.mergeLocked(m, now, true)
	}
	return nil
}

// restoreSelfLocked raises self's incarnation above the stored record's.
func (r *Registry) restoreSelfLocked(stored Member) {
	e := r.table[r.selfID]
	if stored.Incarnation < e.m.Incarnation || stored.Incarnation == math.MaxUint64 {
		return
	}
	m := e.m
	m.Incarnation = stored.Incarnation + 1
	e.m = m
	r.recordChanged()
}
