package client

import (
	"context"
	"fmt"

	"github.com/emerge-dev/emerge/rpc"
)

// RegisterGroup makes the node the client talks to a member of group name.
// The change spreads through the registry and survives the node's restart.
// It returns the node's groups.
func (c *Client) RegisterGroup(ctx context.Context, name string) ([]string, error) {
	return c.group(ctx, rpc.GroupJoin, name)
}

// UnregisterGroup takes the node out of group name (groups of the node's
// config are joined again when it restarts). It returns the node's groups.
func (c *Client) UnregisterGroup(ctx context.Context, name string) ([]string, error) {
	return c.group(ctx, rpc.GroupLeave, name)
}

// Groups lists the groups of the node the client talks to.
func (c *Client) Groups(ctx context.Context) ([]string, error) {
	return c.group(ctx, rpc.GroupList, "")
}

func (c *Client) group(ctx context.Context, action, name string) ([]string, error) {
	m, err := c.call(ctx, rpc.OpGroup, &rpc.GroupReq{Action: action, Name: name}, nil)
	if err != nil {
		return nil, fmt.Errorf("group %s: %w", action, err)
	}
	var rep rpc.GroupRep
	if err := m.Decode(&rep); err != nil {
		return nil, err
	}
	return rep.Groups, nil
}
