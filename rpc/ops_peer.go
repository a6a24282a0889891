package rpc

import (
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// MemberRecord is a registry member on the wire.
type MemberRecord struct {
	ID          string  `msgpack:"id"`
	RPC         string  `msgpack:"rpc"`
	Pub         string  `msgpack:"pub"`
	Host        string  `msgpack:"host"`
	Groups      Strings `msgpack:"groups,omitempty"`
	Incarnation uint64  `msgpack:"inc"`
	Left        bool    `msgpack:"left,omitempty"`
}

// JoinReq carries the sender's own record: a newcomer joining, or a member
// leaving (Left set). The reply is a TableRep.
type JoinReq struct {
	Header
	Member MemberRecord `msgpack:"m"`
}

// TableRep answers Join and Registry: the data frame is the member table
// (registry snapshot bytes).
type TableRep struct {
	Header
	Digest uint64 `msgpack:"digest"`
}

// MemberStatus is a member as the answering node sees it.
type MemberStatus struct {
	MemberRecord `msgpack:",inline"`
	State        string `msgpack:"state"`
	Heard        int64  `msgpack:"heard,omitempty"` // unix ns of the last heartbeat
	Since        int64  `msgpack:"since,omitempty"` // unix ns of the last state change
}

// MemberEvent is a membership change the answering node observed.
type MemberEvent struct {
	Seq  uint64 `msgpack:"seq"`
	Kind string `msgpack:"kind"`
	ID   string `msgpack:"id"`
	From string `msgpack:"from"`
	To   string `msgpack:"to"`
	At   int64  `msgpack:"at"`
}

// MembersReq asks for the member list and events after Since.
type MembersReq struct {
	Header
	Since uint64 `msgpack:"since,omitempty"`
}

// MembersRep lists members and recent events.
type MembersRep struct {
	Header
	Self    string        `msgpack:"self"`
	Digest  uint64        `msgpack:"digest"`
	Members MemberList    `msgpack:"members"`
	Events  []MemberEvent `msgpack:"events"`
}

// Caps of the membership lists.
const (
	MaxStrings = 64
	MaxMembers = 4096
)

// Strings is a capped list of short strings (groups, node ids).
type Strings []string

// DecodeMsgpack reads at most MaxStrings strings.
func (s *Strings) DecodeMsgpack(d *msgpack.Decoder) error {
	n, err := capLen(d, MaxStrings)
	if err != nil || n < 0 {
		*s = nil
		return err
	}
	out := make(Strings, n)
	for i := range out {
		if out[i], err = d.DecodeString(); err != nil {
			return err
		}
	}
	*s = out
	return nil
}

// MemberList is a capped list of member statuses.
type MemberList []MemberStatus

// DecodeMsgpack reads at most MaxMembers members.
func (l *MemberList) DecodeMsgpack(d *msgpack.Decoder) error {
	n, err := capLen(d, MaxMembers)
	if err != nil || n < 0 {
		*l = nil
		return err
	}
	out := make(MemberList, n)
	for i := range out {
		if err := d.Decode(&out[i]); err != nil {
			return err
		}
	}
	*l = out
	return nil
}

func capLen(d *msgpack.Decoder, limit int) (int, error) {
	n, err := d.DecodeArrayLen()
	if err != nil {
		return 0, err
	}
	if n > limit {
		return 0, fmt.Errorf("list of %d, limit %d", n, limit)
	}
	return n, nil
}
