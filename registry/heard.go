package registry

// Heard records a heartbeat or hello sent by member id itself, carrying its
// current incarnation. It reports whether the caller should pull the
// member's record over rpc: the member is unknown, or its incarnation is
// newer than the stored record.
//
// An incarnation at least the stored one makes the member Alive (a Suspect
// member emits Alive, a Dead one Rejoin: it restarted) and resets its
// timers. An older incarnation is a stale message and is ignored. A Left
// member stays Left until its newer record is merged. Hearing an unknown id
// clears its tombstone, so the pulled record is accepted. An unknown id asks
// for a pull on every heartbeat until its record arrives: the caller should
// keep one pull in flight per peer.
//
// A member that restarted without its snapshot heartbeats a lower
// incarnation, which is ignored here; it meets its old record in the first
// table it pulls (its digest differs from everyone's), refutes it in Merge,
// and its heartbeats count again from the refuted incarnation on.
func (r *Registry) Heard(id string, incarnation uint64) (needPull bool) {
	if id == "" || len(id) > MaxString {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if id == r.selfID {
		r.heardSelfLocked(incarnation)
		return false
	}
	e, ok := r.table[id]
	if !ok {
		delete(r.pruned, id)
		return true
	}
	stored := e.m.Incarnation
	if incarnation < stored || (e.m.Left && incarnation == stored) {
		return false
	}
	if !e.m.Left {
		r.markAliveLocked(e)
	}
	return incarnation > stored
}

// markAliveLocked resets e's timers and makes it Alive, emitting Alive for
// a Suspect member and Rejoin for a Dead one.
func (r *Registry) markAliveLocked(e *entry) {
	now, from := r.cfg.Now(), e.state
	e.heard = now
	r.setState(e, StateAlive, now)
	switch from {
	case StateSuspect:
		r.emit(EventAlive, e.m, from, StateAlive, now)
	case StateDead:
		r.emit(EventRejoin, e.m, from, StateAlive, now)
	}
}

// heardSelfLocked handles a heartbeat under self's id with a higher
// incarnation (a message from a previous life of this node): refute it.
func (r *Registry) heardSelfLocked(incarnation uint64) {
	self := r.table[r.selfID].m
	if incarnation > self.Incarnation {
		stale := self
		stale.Incarnation = incarnation
		r.refuteLocked(stale)
	}
}
