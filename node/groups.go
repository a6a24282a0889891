package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/registry"
	"github.com/emerge-dev/emerge/rpc"
)

// groupsKey is where the node keeps the groups it was told to join or leave
// at run time, so that they survive a restart. The groups of the config are
// joined at every start on top of them.
const groupsKey = "groups"

// startGroups returns the groups self starts with: the persisted set plus
// the configured ones.
func (n *Node) startGroups() []string {
	gs := append([]string(nil), n.cfg.Groups...)
	b, err := n.store.GetMeta(groupsKey)
	if errors.Is(err, blocks.ErrNotFound) {
		return gs
	}
	var saved []string
	if err == nil {
		err = json.Unmarshal(b, &saved)
	}
	if err != nil {
		n.log.Warn().Err(err).Msg("persisted groups unreadable; using the configured ones")
		return gs
	}
	for _, g := range saved {
		if registry.ValidateGroup(g) == nil {
			gs = append(gs, g)
		}
	}
	if len(gs) > registry.MaxGroups {
		gs = gs[:registry.MaxGroups]
	}
	return gs
}

// group joins, leaves or lists groups on this node. A change raises self's
// incarnation, so it spreads with the heartbeat digest, and is persisted.
func (n *Node) group(ctx context.Context, m *rpc.Message) (*rpc.Reply, error) {
	var req rpc.GroupReq
	if err := m.Decode(&req); err != nil {
		return nil, err
	}
	reg := n.members.Registry()
	var err error
	switch req.Action {
	case rpc.GroupList:
	case rpc.GroupJoin:
		_, err = reg.JoinGroup(req.Name)
	case rpc.GroupLeave:
		if req.Name == "" {
			return nil, rpc.Errorf(rpc.ErrBadRequest, "group leave: name required")
		}
		_, err = reg.LeaveGroup(req.Name)
	default:
		return nil, rpc.Errorf(rpc.ErrBadRequest, "group: unknown action %q", req.Action)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", rpc.ErrBadRequest, err)
	}
	self := reg.Self()
	if req.Action != rpc.GroupList {
		if err := n.saveGroups(self.Groups); err != nil {
			return nil, err
		}
		n.members.Heartbeat() // spread the new record now rather than at the next tick
		if req.Action == rpc.GroupJoin {
			n.files.GroupsChanged()
		}
	}
	return &rpc.Reply{Body: &rpc.GroupRep{Node: n.id, Groups: self.Groups}}, nil
}

func (n *Node) saveGroups(gs []string) error {
	if gs == nil {
		gs = []string{}
	}
	b, _ := json.Marshal(gs)
	if err := n.store.PutMeta(groupsKey, b); err != nil {
		return fmt.Errorf("node: persist groups: %w", err)
	}
	return nil
}

// Groups returns this node's groups.
func (n *Node) Groups() []string { return n.members.Registry().Self().Groups }
