package registry

import "time"

// State is this node's local view of a member's liveness. It is computed
// from when the member was last heard and is never gossiped.
type State uint8

// Liveness states. Only append to this list.
const (
	StateAlive   State = iota + 1 // heard within SuspectAfter
	StateSuspect                  // not heard for SuspectAfter
	StateDead                     // not heard for DeadAfter
	StateLeft                     // its own record says it left
)

func (s State) String() string {
	switch s {
	case StateAlive:
		return "alive"
	case StateSuspect:
		return "suspect"
	case StateDead:
		return "dead"
	case StateLeft:
		return "left"
	}
	return "unknown"
}

// Live reports whether members in state s take part in placement.
func (s State) Live() bool { return s == StateAlive || s == StateSuspect }

// Status is a member's record with this node's view of it.
type Status struct {
	Member
	State State
	// LastHeard is when the liveness timers were last reset: a first-hand
	// heartbeat, or the moment the member (or a newer record of it) was
	// learned.
	LastHeard time.Time
	// Since is when the member entered State.
	Since time.Time
}
