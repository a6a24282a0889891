package registry

import (
	"fmt"
	"slices"
)

// SetGroups replaces self's groups (sorted and de-duplicated) and, if they
// changed, raises self's incarnation and emits Update. It returns self's
// record.
func (r *Registry) SetGroups(groups []string) (Member, error) {
	if len(groups) > MaxGroups {
		return r.Self(), fmt.Errorf("%w: %d groups, limit %d", ErrBadMember, len(groups), MaxGroups)
	}
	for _, g := range groups {
		if err := ValidateGroup(g); err != nil {
			return r.Self(), err
		}
	}
	gs := normalizeGroups(groups)
	return r.updateSelf(func(m *Member) { m.Groups = gs })
}

// JoinGroup adds self to group name (a no-op if already in it).
func (r *Registry) JoinGroup(name string) (Member, error) {
	if err := ValidateGroup(name); err != nil {
		return r.Self(), err
	}
	return r.updateSelf(func(m *Member) {
		m.Groups = normalizeGroups(append(slices.Clip(m.Groups), name))
	})
}

// LeaveGroup removes self from group name (a no-op if not in it).
func (r *Registry) LeaveGroup(name string) (Member, error) {
	return r.updateSelf(func(m *Member) {
		gs := slices.DeleteFunc(slices.Clone(m.Groups), func(g string) bool { return g == name })
		m.Groups = normalizeGroups(gs)
	})
}

// SetEndpoints replaces self's rpc and pub endpoints, for a node that learns
// its bound addresses after creating the registry.
func (r *Registry) SetEndpoints(rpc, pub string) (Member, error) {
	return r.updateSelf(func(m *Member) { m.RPC, m.Pub = rpc, pub })
}

// updateSelf applies change to a copy of self's record; if the result is
// valid and differs, it becomes self's record with the next incarnation.
// change must not modify the slices it is given (assign new ones).
func (r *Registry) updateSelf(change func(*Member)) (Member, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.table[r.selfID]
	if e.m.Left {
		return e.m, ErrLeft
	}
	m := e.m
	change(&m)
	if err := m.Validate(); err != nil {
		return e.m, err
	}
	if sameContent(m, e.m) {
		return e.m, nil
	}
	m.Incarnation = e.m.Incarnation + 1
	e.m = m
	r.recordChanged()
	r.emit(EventUpdate, m, StateAlive, StateAlive, r.cfg.Now())
	return m, nil
}

// Leave marks self Left with the next incarnation, for a graceful shutdown:
// gossip it (and the bus's leave message) so others drop this node at once
// instead of waiting for DeadAfter. Self's record is final afterwards; the
// group and endpoint setters return ErrLeft. Calling Leave again returns the
// same record.
func (r *Registry) Leave() Member {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.table[r.selfID]
	if e.m.Left {
		return e.m
	}
	m := e.m
	m.Left = true
	m.Incarnation++
	e.m = m
	r.recordChanged()
	now := r.cfg.Now()
	from := e.state
	r.setState(e, StateLeft, now)
	r.emit(EventLeave, m, from, StateLeft, now)
	return m
}
