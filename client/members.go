package client

import (
	"context"
	"fmt"
	"time"

	"github.com/emerge-dev/emerge/rpc"
)

// Member is a member of the network as the answering node sees it.
type Member struct {
	ID          string    `json:"node"`
	State       string    `json:"state"` // alive, suspect, dead, left
	RPC         string    `json:"rpc"`
	Pub         string    `json:"pub"`
	Host        string    `json:"host"`
	Groups      []string  `json:"groups,omitempty"`
	Incarnation uint64    `json:"incarnation"`
	LastHeard   time.Time `json:"last_heard,omitempty"`
	Self        bool      `json:"self,omitempty"`
}

// MemberEvent is a membership change the answering node observed.
type MemberEvent struct {
	Seq  uint64    `json:"seq"`
	Kind string    `json:"kind"` // join, update, suspect, dead, alive, rejoin, leave, remove
	ID   string    `json:"node"`
	From string    `json:"from"`
	To   string    `json:"to"`
	At   time.Time `json:"at"`
}

// Members lists the members and the membership events the node saw after
// event sequence number since (0: all it keeps).
func (c *Client) Members(ctx context.Context, since uint64) ([]Member, []MemberEvent, error) {
	m, err := c.call(ctx, rpc.OpMembers, &rpc.MembersReq{Since: since}, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("members: %w", err)
	}
	var rep rpc.MembersRep
	if err := m.Decode(&rep); err != nil {
		return nil, nil, err
	}
	members := make([]Member, len(rep.Members))
	for i, w := range rep.Members {
		members[i] = Member{ID: w.ID, State: w.State, RPC: w.RPC, Pub: w.Pub, Host: w.Host, Groups: w.Groups,
			Incarnation: w.Incarnation, Self: w.ID == rep.Self}
		if w.Heard != 0 {
			members[i].LastHeard = time.Unix(0, w.Heard).UTC()
		}
	}
	events := make([]MemberEvent, len(rep.Events))
	for i, e := range rep.Events {
		events[i] = MemberEvent{Seq: e.Seq, Kind: e.Kind, ID: e.ID, From: e.From, To: e.To, At: time.Unix(0, e.At).UTC()}
	}
	return members, events, nil
}
