package registry

import "time"

// EventKind says what happened to a member.
type EventKind uint8

// Event kinds. Only append to this list.
const (
	EventJoin    EventKind = iota + 1 // new to the table
	EventUpdate                       // groups, endpoints or host changed
	EventSuspect                      // Alive -> Suspect
	EventDead                         // Alive or Suspect -> Dead
	EventAlive                        // Suspect -> Alive: heard again
	EventRejoin                       // Dead or Left -> Alive: it came back
	EventLeave                        // its record now says Left
	EventRemove                       // pruned from the table
)

func (k EventKind) String() string {
	switch k {
	case EventJoin:
		return "join"
	case EventUpdate:
		return "update"
	case EventSuspect:
		return "suspect"
	case EventDead:
		return "dead"
	case EventAlive:
		return "alive"
	case EventRejoin:
		return "rejoin"
	case EventLeave:
		return "leave"
	case EventRemove:
		return "remove"
	}
	return "unknown"
}

// Event records one change in the table.
type Event struct {
	Seq    uint64 // 1, 2, 3 … in the order events happened on this node
	Kind   EventKind
	Member Member // the record after the change
	From   State  // liveness before (0 for a Join)
	To     State  // liveness after (0 for a Remove)
	At     time.Time
}

// eventLog is a bounded ring of recent events plus the optional subscriber.
type eventLog struct {
	buf     []Event
	next    int // where the next event goes
	n       int // how many of buf are filled
	seq     uint64
	notify  chan<- Event
	dropped uint64
}

func newEventLog(size int, notify chan<- Event) eventLog {
	return eventLog{buf: make([]Event, size), notify: notify}
}

// add numbers e, keeps it and offers it to the subscriber without blocking.
func (l *eventLog) add(e Event) Event {
	l.seq++
	e.Seq = l.seq
	if len(l.buf) > 0 {
		l.buf[l.next] = e
		l.next = (l.next + 1) % len(l.buf)
		l.n = min(l.n+1, len(l.buf))
	}
	if l.notify != nil {
		select {
		case l.notify <- e:
		default:
			l.dropped++
		}
	}
	return e
}

// since returns the kept events with Seq > seq, oldest first.
func (l *eventLog) since(seq uint64) []Event {
	var out []Event
	start := l.next - l.n
	for i := range l.n {
		e := l.buf[(start+i+len(l.buf))%len(l.buf)]
		if e.Seq > seq {
			out = append(out, e)
		}
	}
	return out
}
