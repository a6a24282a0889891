package registry

import (
	"math"
	"time"
)

// Merge applies a record learned from another node (a join reply, a table
// pull, a hello). It reports whether the stored table changed, and with it
// possibly the digest. Invalid records, records older than a tombstone and
// new members beyond MaxMembers are dropped with a warning. A record about
// self that would beat self's own is refuted: self's incarnation goes above
// it (and Merge reports true, since self's record changed).
func (r *Registry) Merge(m Member) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mergeLocked(m, r.cfg.Now(), false)
}

// MergeAll merges every record and returns how many changed the table.
func (r *Registry) MergeAll(ms []Member) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	now, changed := r.cfg.Now(), 0
	for _, m := range ms {
		if r.mergeLocked(m, now, false) {
			changed++
		}
	}
	return changed
}

// mergeLocked applies one record. restored marks records read from a
// snapshot: they are no sign of life.
func (r *Registry) mergeLocked(in Member, now time.Time, restored bool) bool {
	if err := in.Validate(); err != nil {
		r.log.Warn().Err(err).Msg("dropped invalid member record")
		return false
	}
	in = in.normalized()
	if in.ID == r.selfID {
		return r.refuteLocked(in)
	}
	if t, ok := r.pruned[in.ID]; ok && in.Incarnation <= t.incarnation {
		return false
	}
	e, ok := r.table[in.ID]
	if !ok {
		return r.addLocked(in, now, restored)
	}
	if !beats(in, e.m) {
		return false
	}
	r.replaceLocked(e, in, now, restored)
	return true
}

// addLocked stores a member new to the table.
func (r *Registry) addLocked(in Member, now time.Time, restored bool) bool {
	if len(r.table) >= MaxMembers {
		r.log.Warn().Str("peer", clip(in.ID)).Int("limit", MaxMembers).Msg("member table full, record dropped")
		return false
	}
	delete(r.pruned, in.ID)
	st := StateAlive
	switch {
	case in.Left:
		st = StateLeft
	case restored:
		st = StateSuspect
	}
	r.table[in.ID] = &entry{m: in, state: st, heard: now, since: now}
	r.recordChanged()
	if !in.Left {
		r.emit(EventJoin, in, 0, st, now)
	}
	return true
}

// replaceLocked stores a record that beats the stored one and emits what
// changed: Leave, Rejoin or Alive for liveness, then Update for fields.
func (r *Registry) replaceLocked(e *entry, in Member, now time.Time, restored bool) {
	old, from := e.m, e.state
	e.m = in
	r.recordChanged()
	to := r.stateAfterReplace(e, in, old, now, restored)
	r.setState(e, to, now)
	switch {
	case to == StateLeft && from != StateLeft:
		r.emit(EventLeave, in, from, to, now)
		return
	case to == StateLeft:
		return
	case from == StateDead || from == StateLeft:
		if to != from {
			r.emit(EventRejoin, in, from, to, now)
		}
	case from == StateSuspect && to == StateAlive:
		r.emit(EventAlive, in, from, to, now)
	}
	if fieldsChanged(old, in) {
		r.emit(EventUpdate, in, to, to, now)
	}
}

// stateAfterReplace decides liveness once in replaced old. A newer
// incarnation learned live is a sign of life and resets the timers; one read
// from a snapshot only lifts a Left member to Suspect; an equal-incarnation
// tie-break changes nothing.
func (r *Registry) stateAfterReplace(e *entry, in, old Member, now time.Time, restored bool) State {
	switch {
	case in.Left:
		return StateLeft
	case in.Incarnation == old.Incarnation:
		return e.state
	case restored && e.state == StateLeft:
		e.heard = now
		return StateSuspect
	case restored:
		return e.state
	}
	e.heard = now
	return StateAlive
}

// fieldsChanged reports a change in endpoints, host or groups.
func fieldsChanged(a, b Member) bool {
	a.Left, b.Left = false, false
	return !sameContent(a, b)
}

// refuteLocked answers a record about self that would beat self's own by
// raising self's incarnation above it, content unchanged.
func (r *Registry) refuteLocked(in Member) bool {
	e := r.table[r.selfID]
	if !beats(in, e.m) {
		return false
	}
	if in.Incarnation == math.MaxUint64 {
		r.log.Warn().Msg("cannot refute a record about self at the maximum incarnation")
		return false
	}
	m := e.m
	m.Incarnation = in.Incarnation + 1
	e.m = m
	r.recordChanged()
	r.log.Info().Uint64("stale", in.Incarnation).Uint64("incarnation", m.Incarnation).Msg("refuted a stale record about self")
	return true
}
