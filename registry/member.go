package registry

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
)

// Limits on a member record and on the table. Every decoded count and length
// is checked against them.
const (
	// MaxMembers caps the table, self included, and a snapshot.
	MaxMembers = 4096
	// MaxGroups caps the groups of one member.
	MaxGroups = 64
	// MaxString caps every string of a record: id, endpoints, host, group.
	MaxString = 256
)

// Member is the record a member owns and gossips about itself. Only the
// member changes it, raising Incarnation each time. Records held by the
// registry are never modified in place: treat a Member you are given,
// Groups included, as read-only.
type Member struct {
	ID          string   // stable node id
	RPC         string   // rpc endpoint (ROUTER)
	Pub         string   // pub endpoint (PUB)
	Host        string   // machine id: members with equal Host share memory
	Groups      []string // sorted, unique
	Incarnation uint64   // raised by the member on every change
	Left        bool     // left gracefully; authoritative from the member
}

// Validate checks the record against the limits. Groups need not be sorted:
// the registry normalises them.
func (m Member) Validate() error {
	if m.ID == "" {
		return fmt.Errorf("%w: empty id", ErrBadMember)
	}
	for _, s := range [...]string{m.ID, m.RPC, m.Pub, m.Host} {
		if len(s) > MaxString {
			return fmt.Errorf("%w: %q: field longer than %d bytes", ErrBadMember, clip(m.ID), MaxString)
		}
	}
	if len(m.Groups) > MaxGroups {
		return fmt.Errorf("%w: %q: %d groups, limit %d", ErrBadMember, clip(m.ID), len(m.Groups), MaxGroups)
	}
	for _, g := range m.Groups {
		if err := ValidateGroup(g); err != nil {
			return err
		}
	}
	return nil
}

// ValidateGroup checks a group name: 1 to MaxString bytes.
func ValidateGroup(name string) error {
	if name == "" || len(name) > MaxString {
		return fmt.Errorf("%w: group name %q must be 1..%d bytes", ErrBadMember, clip(name), MaxString)
	}
	return nil
}

// InGroup reports whether m is in group name.
func (m Member) InGroup(name string) bool {
	_, ok := slices.BinarySearch(m.Groups, name)
	return ok
}

// Equal reports whether two records are identical, incarnation included.
func (m Member) Equal(o Member) bool {
	return m.Incarnation == o.Incarnation && sameContent(m, o)
}

// sameContent compares everything but the incarnation.
func sameContent(a, b Member) bool {
	return a.ID == b.ID && a.RPC == b.RPC && a.Pub == b.Pub && a.Host == b.Host &&
		a.Left == b.Left && slices.Equal(a.Groups, b.Groups)
}

// normalized returns a copy of m that shares no memory with it, with Groups
// sorted, de-duplicated and nil when empty.
func (m Member) normalized() Member {
	m.Groups = normalizeGroups(m.Groups)
	return m
}

func normalizeGroups(gs []string) []string {
	if len(gs) == 0 {
		return nil
	}
	out := slices.Clone(gs)
	slices.Sort(out)
	return slices.Compact(out)
}

// beats reports whether record a should replace record b: a higher
// incarnation, or for equal incarnations Left first, then the larger
// canonical encoding. Identical records do not beat each other.
func beats(a, b Member) bool {
	if a.Incarnation != b.Incarnation {
		return a.Incarnation > b.Incarnation
	}
	if a.Left != b.Left {
		return a.Left
	}
	if sameContent(a, b) {
		return false
	}
	return bytes.Compare(appendRecord(nil, a), appendRecord(nil, b)) > 0
}

// appendRecord appends m's canonical encoding: what Digest hashes and the
// tie-break compares. Strings are length-prefixed so no two records share
// an encoding.
func appendRecord(dst []byte, m Member) []byte {
	dst = appendString(dst, m.ID)
	dst = binary.BigEndian.AppendUint64(dst, m.Incarnation)
	if m.Left {
		dst = append(dst, 1)
	} else {
		dst = append(dst, 0)
	}
	dst = appendString(dst, m.RPC)
	dst = appendString(dst, m.Pub)
	dst = appendString(dst, m.Host)
	dst = binary.AppendUvarint(dst, uint64(len(m.Groups)))
	for _, g := range m.Groups {
		dst = appendString(dst, g)
	}
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// clip keeps log and error text short whatever a peer sent.
func clip(s string) string {
	if len(s) > 64 {
		return s[:61] + "..."
	}
	return s
}
