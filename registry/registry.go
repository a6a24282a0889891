package registry

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Registry is the member table of one node. It is safe for concurrent use.
type Registry struct {
	cfg    Config
	log    zerolog.Logger
	selfID string

	mu       sync.Mutex
	table    map[string]*entry
	pruned   map[string]tombstone
	events   eventLog
	digest   uint64
	digestOK bool
	snap     []byte // the encoded table; nil when a record changed since

	// live caches the sorted live members; nil when stale. Readers load it
	// without the mutex; writers clear it under the mutex.
	live atomic.Pointer[[]Member]
}

// entry is a stored record and this node's view of it.
type entry struct {
	m     Member
	state State
	heard time.Time // liveness timers run from here
	since time.Time // when state was entered
}

// tombstone remembers a pruned member so second-hand gossip cannot bring
// back the record that was pruned.
type tombstone struct {
	incarnation uint64
	at          time.Time
}

// New validates cfg, fills its defaults and returns a registry holding only
// self, Alive.
func New(cfg Config) (*Registry, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	self := cfg.Self.normalized()
	r := &Registry{
		cfg:    cfg,
		log:    cfg.Logger.With().Str("component", "registry").Str("node", self.ID).Logger(),
		selfID: self.ID,
		table:  make(map[string]*entry),
		pruned: make(map[string]tombstone),
		events: newEventLog(cfg.EventBuffer, cfg.Notify),
	}
	now := cfg.Now()
	r.table[self.ID] = &entry{m: self, state: StateAlive, heard: now, since: now}
	return r, nil
}

// Self returns this node's current record.
func (r *Registry) Self() Member {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.table[r.selfID].m
}

// Get returns the member with id and this node's view of it.
func (r *Registry) Get(id string) (Status, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.table[id]
	if !ok {
		return Status{}, false
	}
	return e.status(), true
}

// Members returns every member in the table, Dead and Left included,
// sorted by id.
func (r *Registry) Members() []Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Status, 0, len(r.table))
	for _, e := range r.table {
		out = append(out, e.status())
	}
	slices.SortFunc(out, func(a, b Status) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Len returns the number of members in the table, self included.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.table)
}

// Events returns the kept events with Seq greater than since, oldest first.
// Events(0) returns all of them (at most Config.EventBuffer).
func (r *Registry) Events(since uint64) []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.events.since(since)
}

// Dropped returns how many events Config.Notify could not take.
func (r *Registry) Dropped() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.events.dropped
}

func (e *entry) status() Status {
	return Status{Member: e.m, State: e.state, LastHeard: e.heard, Since: e.since}
}

// emit records an event; the caller holds r.mu.
func (r *Registry) emit(kind EventKind, m Member, from, to State, at time.Time) Event {
	ev := r.events.add(Event{Kind: kind, Member: m, From: from, To: to, At: at})
	r.log.Debug().Str("peer", m.ID).Stringer("event", kind).Stringer("from", from).
		Stringer("to", to).Uint64("incarnation", m.Incarnation).Msg("member event")
	return ev
}

// setState moves e to state s at now; the caller holds r.mu.
func (r *Registry) setState(e *entry, s State, now time.Time) {
	if e.state == s {
		return
	}
	if e.state.Live() != s.Live() {
		r.live.Store(nil)
	}
	e.state, e.since = s, now
}

// recordChanged marks the caches that depend on records stale; the caller
// holds r.mu.
func (r *Registry) recordChanged() {
	r.digestOK = false
	r.snap = nil
	r.live.Store(nil)
}
