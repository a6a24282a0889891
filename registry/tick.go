package registry

import (
	"slices"
	"time"
)

// Tick advances liveness to now and returns the events it produced (also
// kept for Events and offered to Config.Notify). Members other than self not
// heard for SuspectAfter turn Suspect, for DeadAfter Dead; Dead and Left
// members are pruned RemoveAfter after entering that state, leaving a
// tombstone for as long again. Members are visited in id order, so the same
// table ticked at the same time gives the same events.
func (r *Registry) Tick(now time.Time) []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Event
	for _, id := range r.sortedIDsLocked() {
		if id == r.selfID {
			continue
		}
		if ev, ok := r.ageLocked(r.table[id], now); ok {
			out = append(out, ev)
		}
	}
	for id, t := range r.pruned {
		if now.Sub(t.at) >= r.cfg.RemoveAfter {
			delete(r.pruned, id)
		}
	}
	return out
}

// ageLocked applies at most one transition to e.
func (r *Registry) ageLocked(e *entry, now time.Time) (Event, bool) {
	idle, from := now.Sub(e.heard), e.state
	switch {
	case from.Live() && idle >= r.cfg.DeadAfter:
		r.setState(e, StateDead, now)
		return r.emit(EventDead, e.m, from, StateDead, now), true
	case from == StateAlive && idle >= r.cfg.SuspectAfter:
		r.setState(e, StateSuspect, now)
		return r.emit(EventSuspect, e.m, from, StateSuspect, now), true
	case !from.Live() && now.Sub(e.since) >= r.cfg.RemoveAfter:
		delete(r.table, e.m.ID)
		r.pruned[e.m.ID] = tombstone{incarnation: e.m.Incarnation, at: now}
		r.recordChanged()
		return r.emit(EventRemove, e.m, from, 0, now), true
	}
	return Event{}, false
}

// sortedIDsLocked returns the ids in the table, sorted.
func (r *Registry) sortedIDsLocked() []string {
	ids := make([]string, 0, len(r.table))
	for id := range r.table {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
