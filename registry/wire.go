package registry

import (
	"bytes"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// SnapshotVersion is the first element of a snapshot.
const SnapshotVersion = 1

// MaxSnapshotBytes bounds an encoded snapshot: MaxMembers records with every
// string and group at its limit, plus msgpack framing.
const MaxSnapshotBytes = 16 + MaxMembers*(16+(4+MaxGroups)*(5+MaxString))

// Field counts of the wire arrays in version 1. Decoders accept longer arrays
// and skip the extra elements, so later versions may append fields.
const (
	snapshotFields = 2
	memberFields   = 7
)

// snapshotWire is the encoding: [version, [member...]]. msgpack v5 takes the
// as_array option only from a field named _msgpack (a field named _ is
// ignored and the struct is encoded as a map).
type snapshotWire struct {
	_msgpack struct{} `msgpack:",as_array"`
	Version  uint64
	Members  []memberWire
}

// memberWire is one record: [id, rpc, pub, host, [group...], incarnation, left].
type memberWire struct {
	_msgpack    struct{} `msgpack:",as_array"`
	ID          string
	RPC         string
	Pub         string
	Host        string
	Groups      []string
	Incarnation uint64
	Left        bool
}

func encodeSnapshot(ms []Member) ([]byte, error) {
	w := snapshotWire{Version: SnapshotVersion, Members: make([]memberWire, len(ms))}
	for i, m := range ms {
		w.Members[i] = memberWire{ID: m.ID, RPC: m.RPC, Pub: m.Pub, Host: m.Host,
			Groups: m.Groups, Incarnation: m.Incarnation, Left: m.Left}
	}
	return msgpack.Marshal(&w)
}

// DecodeSnapshot decodes what Snapshot wrote into validated records without
// touching any registry. It is also the decoder for a table pulled over rpc.
// Every count and length is checked before it is allocated or accepted;
// hostile input gets ErrBadSnapshot, never a panic.
func DecodeSnapshot(b []byte) ([]Member, error) {
	if len(b) > MaxSnapshotBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrBadSnapshot, len(b), MaxSnapshotBytes)
	}
	rd := bytes.NewReader(b)
	d := msgpack.NewDecoder(rd)
	ms, err := decodeSnapshot(d)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSnapshot, err)
	}
	if rd.Len() != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrBadSnapshot, rd.Len())
	}
	return ms, nil
}

func decodeSnapshot(d *msgpack.Decoder) ([]Member, error) {
	extra, err := arrayHeader(d, snapshotFields, snapshotFields+64)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	v, err := d.DecodeUint64()
	if err != nil {
		return nil, fmt.Errorf("version: %w", err)
	}
	if v != SnapshotVersion {
		return nil, fmt.Errorf("version %d, want %d", v, SnapshotVersion)
	}
	ms, err := decodeMembers(d)
	if err != nil {
		return nil, err
	}
	return ms, skip(d, extra)
}

func decodeMembers(d *msgpack.Decoder) ([]Member, error) {
	n, err := d.DecodeArrayLen()
	if err != nil {
		return nil, fmt.Errorf("member list: %w", err)
	}
	if n > MaxMembers {
		return nil, fmt.Errorf("%d members, limit %d", n, MaxMembers)
	}
	ms := make([]Member, 0, max(n, 0))
	for i := 0; i < n; i++ {
		m, err := decodeMember(d)
		if err != nil {
			return nil, fmt.Errorf("member %d: %w", i, err)
		}
		ms = append(ms, m)
	}
	return ms, nil
}

func decodeMember(d *msgpack.Decoder) (Member, error) {
	var m Member
	extra, err := arrayHeader(d, memberFields, memberFields+64)
	if err != nil {
		return m, err
	}
	for _, p := range [...]*string{&m.ID, &m.RPC, &m.Pub, &m.Host} {
		if *p, err = decodeString(d); err != nil {
			return m, err
		}
	}
	if m.Groups, err = decodeGroups(d); err != nil {
		return m, err
	}
	if m.Incarnation, err = d.DecodeUint64(); err != nil {
		return m, fmt.Errorf("incarnation: %w", err)
	}
	if m.Left, err = d.DecodeBool(); err != nil {
		return m, fmt.Errorf("left: %w", err)
	}
	if err := skip(d, extra); err != nil {
		return m, err
	}
	return m.normalized(), m.Validate()
}

func decodeGroups(d *msgpack.Decoder) ([]string, error) {
	n, err := d.DecodeArrayLen()
	if err != nil {
		return nil, fmt.Errorf("groups: %w", err)
	}
	if n > MaxGroups {
		return nil, fmt.Errorf("%d groups, limit %d", n, MaxGroups)
	}
	var gs []string
	for i := 0; i < n; i++ {
		g, err := decodeString(d)
		if err != nil {
			return nil, err
		}
		gs = append(gs, g)
	}
	return gs, nil
}

// decodeString reads a string and checks it against MaxString. The input is
// already bounded by MaxSnapshotBytes, and msgpack grows its buffer as bytes
// arrive, so a lying length cannot allocate much beyond the input.
func decodeString(d *msgpack.Decoder) (string, error) {
	s, err := d.DecodeString()
	if err != nil {
		return "", fmt.Errorf("string: %w", err)
	}
	if len(s) > MaxString {
		return "", fmt.Errorf("string of %d bytes, limit %d", len(s), MaxString)
	}
	return s, nil
}

// arrayHeader reads an array length of at least want and at most limit and
// returns how many elements past want the caller must skip.
func arrayHeader(d *msgpack.Decoder, want, limit int) (int, error) {
	n, err := d.DecodeArrayLen()
	if err != nil {
		return 0, err
	}
	if n < want || n > limit {
		return 0, fmt.Errorf("array of %d elements, want %d..%d", n, want, limit)
	}
	return n - want, nil
}

func skip(d *msgpack.Decoder, n int) error {
	for range n {
		if err := d.Skip(); err != nil {
			return err
		}
	}
	return nil
}
