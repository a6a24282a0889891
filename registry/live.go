package registry

import (
	"slices"
	"strings"
)

// Live returns the members that take part in placement (Alive or Suspect,
// self included), sorted by id. The slice is a shared snapshot, rebuilt only
// when the live set or a live record changes, so calling Live per block
// costs no allocation: do not modify it.
func (r *Registry) Live() []Member {
	if p := r.live.Load(); p != nil {
		return *p
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.liveLocked()
}

func (r *Registry) liveLocked() []Member {
	if p := r.live.Load(); p != nil {
		return *p
	}
	out := make([]Member, 0, len(r.table))
	for _, e := range r.table {
		if e.state.Live() {
			out = append(out, e.m)
		}
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.ID, b.ID) })
	r.live.Store(&out)
	return out
}

// InGroup returns the live members of group name, sorted by id.
func (r *Registry) InGroup(name string) []Member {
	var out []Member
	for _, m := range r.Live() {
		if m.InGroup(name) {
			out = append(out, m)
		}
	}
	return out
}

// Groups maps every group to the sorted ids of its live members.
func (r *Registry) Groups() map[string][]string {
	out := make(map[string][]string)
	for _, m := range r.Live() {
		for _, g := range m.Groups {
			out[g] = append(out[g], m.ID)
		}
	}
	return out
}

// Owners returns the n live members that own key: Place over Live.
func (r *Registry) Owners(key [32]byte, n int) []Member {
	return Place(key, r.Live(), n)
}
