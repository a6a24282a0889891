package pubsub

import (
	"time"

	"github.com/emerge-dev/emerge/blocks"
)

// body is the wire struct of one message type: explicit short msgpack tags,
// kept apart from Message. fill copies a Message's fields in, load copies
// them out, check enforces the caps and required fields; Encode runs check
// after fill and Decode runs it before load, so both directions obey the
// same rules.
type body interface {
	fill(m *Message)
	load(m *Message)
	check() error
}

// kind is one row of the codec table.
type kind struct {
	name string
	body func() body
}

// kinds is indexed by Type. Only append (see Type).
var kinds = [...]kind{
	TypeHello:     {"hello", func() body { return new(wireMember) }},
	TypeHeartbeat: {"heartbeat", func() body { return new(wireMember) }},
	TypeLeave:     {"leave", func() body { return new(wireLeave) }},
	TypeWhoHas:    {"whohas", func() body { return new(wireWhoHas) }},
	TypeHave:      {"have", func() body { return new(wireHave) }},
	TypeDelete:    {"delete", func() body { return new(wireDelete) }},
	TypePrefetch:  {"prefetch", func() body { return new(wirePrefetch) }},
	TypeName:      {"name", func() body { return new(wireName) }},
}

func kindOf(t Type) (kind, bool) {
	if int(t) >= len(kinds) || kinds[t].body == nil {
		return kind{}, false
	}
	return kinds[t], true
}

// wireMember is Hello and Heartbeat.
type wireMember struct {
	From   string `msgpack:"f"`
	Inc    uint64 `msgpack:"i"`
	RPC    string `msgpack:"r"`
	Pub    string `msgpack:"p"`
	Digest uint64 `msgpack:"d"`
}

func (w *wireMember) fill(m *Message) {
	*w = wireMember{From: m.From, Inc: m.Incarnation, RPC: m.RPC, Pub: m.Pub, Digest: m.Digest}
}

func (w *wireMember) load(m *Message) {
	m.From, m.Incarnation, m.RPC, m.Pub, m.Digest = w.From, w.Inc, w.RPC, w.Pub, w.Digest
}

func (w *wireMember) check() error {
	return firstErr(checkFrom(w.From), checkStr("rpc", w.RPC, true), checkStr("pub", w.Pub, true))
}

type wireLeave struct {
	From string `msgpack:"f"`
	Inc  uint64 `msgpack:"i"`
}

func (w *wireLeave) fill(m *Message) { *w = wireLeave{From: m.From, Inc: m.Incarnation} }
func (w *wireLeave) load(m *Message) { m.From, m.Incarnation = w.From, w.Inc }
func (w *wireLeave) check() error    { return checkFrom(w.From) }

type wireWhoHas struct {
	From    string `msgpack:"f"`
	ReqID   uint64 `msgpack:"q"`
	IDs     idList `msgpack:"ids"`
	ReplyTo string `msgpack:"rt"`
}

func (w *wireWhoHas) fill(m *Message) {
	*w = wireWhoHas{From: m.From, ReqID: m.ReqID, IDs: m.IDs, ReplyTo: m.ReplyTo}
}

func (w *wireWhoHas) load(m *Message) {
	m.From, m.ReqID, m.IDs, m.ReplyTo = w.From, w.ReqID, w.IDs.ids(), w.ReplyTo
}

func (w *wireWhoHas) check() error {
	return firstErr(checkFrom(w.From), checkIDs(w.IDs), checkStr("reply_to", w.ReplyTo, true))
}

type wireHave struct {
	From string `msgpack:"f"`
	Ref  []byte `msgpack:"ref"`
	IDs  idList `msgpack:"ids"`
}

func (w *wireHave) fill(m *Message) {
	*w = wireHave{From: m.From, Ref: m.Ref[:], IDs: m.IDs}
}

func (w *wireHave) load(m *Message) {
	m.From, m.Ref, m.IDs = w.From, blocks.Ref(w.Ref), w.IDs.ids()
}

func (w *wireHave) check() error {
	return firstErr(checkFrom(w.From), checkRef(w.Ref), checkIDs(w.IDs))
}

type wireDelete struct {
	From string `msgpack:"f"`
	Ref  []byte `msgpack:"ref"`
	At   *int64 `msgpack:"at,omitempty"` // unix nanoseconds; absent for the zero time
}

func (w *wireDelete) fill(m *Message) {
	*w = wireDelete{From: m.From, Ref: m.Ref[:]}
	if !m.At.IsZero() {
		at := m.At.UnixNano()
		w.At = &at
	}
}

func (w *wireDelete) load(m *Message) {
	m.From, m.Ref, m.At = w.From, blocks.Ref(w.Ref), time.Time{}
	if w.At != nil {
		m.At = time.Unix(0, *w.At).UTC()
	}
}

func (w *wireDelete) check() error { return firstErr(checkFrom(w.From), checkRef(w.Ref)) }

type wirePrefetch struct {
	From   string   `msgpack:"f"`
	Ref    []byte   `msgpack:"ref"`
	Groups []string `msgpack:"g,omitempty"`
	Nodes  []string `msgpack:"n,omitempty"`
}

func (w *wirePrefetch) fill(m *Message) {
	*w = wirePrefetch{From: m.From, Ref: m.Ref[:], Groups: m.Groups, Nodes: m.Nodes}
}

func (w *wirePrefetch) load(m *Message) {
	m.From, m.Ref, m.Groups, m.Nodes = w.From, blocks.Ref(w.Ref), nilIfEmpty(w.Groups), nilIfEmpty(w.Nodes)
}

func (w *wirePrefetch) check() error {
	return firstErr(checkFrom(w.From), checkRef(w.Ref),
		checkList("groups", w.Groups, MaxGroups), checkList("nodes", w.Nodes, MaxNodes),
		checkTargets(len(w.Groups)+len(w.Nodes)))
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

type wireName struct {
	From    string `msgpack:"f"`
	Payload []byte `msgpack:"e"`
}

func (w *wireName) fill(m *Message) { *w = wireName{From: m.From, Payload: m.Payload} }
func (w *wireName) load(m *Message) { m.From, m.Payload = w.From, w.Payload }

func (w *wireName) check() error {
	switch {
	case len(w.Payload) == 0:
		return missing("payload")
	case len(w.Payload) > MaxPayload:
		return tooLarge("payload bytes", len(w.Payload), MaxPayload)
	}
	return checkFrom(w.From)
}
