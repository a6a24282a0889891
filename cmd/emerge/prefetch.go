package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/units"
	"github.com/spf13/cobra"
)

func newPrefetchCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:     "prefetch",
		Short:   "spread an object to groups of nodes, and watch it spread",
		Example: prefetchExample,
	}
	asParent(c)
	c.AddCommand(newPrefetchStartCmd(g), newPrefetchStatusCmd(g), newPrefetchFollowCmd(g)) // follow: names.go
	return c
}

type prefetchStartOptions struct {
	groups, nodes []string
	wait          bool
	allowEmpty    bool
}

func newPrefetchStartCmd(g *globals) *cobra.Command {
	o := &prefetchStartOptions{}
	c := &cobra.Command{
		Use:     "start REF",
		Short:   "spread REF (held by the node) to every member of the groups and to the nodes",
		Example: prefetchStartExample,
		Args:    exactArgs(1, "one REF"),
		RunE:    func(cmd *cobra.Command, args []string) error { return o.run(cmd, g, args[0]) },
	}
	f := c.Flags()
	f.StringArrayVar(&o.groups, "group", nil, "target group (repeatable)")
	f.StringArrayVar(&o.nodes, "target", nil, "target node id (repeatable; --node is the endpoint of the node to ask)")
	f.BoolVar(&o.wait, "wait", false, "return once every live target holds the object")
	f.BoolVar(&o.allowEmpty, "allow-empty", false, "record the prefetch even if a group has no live member or a target is not live (they catch up when they join)")
	return c
}

func (o *prefetchStartOptions) run(cmd *cobra.Command, g *globals, arg string) error {
	ref, err := parseRef(arg)
	if err != nil {
		return err
	}
	if len(o.groups)+len(o.nodes) == 0 {
		return usagef("prefetch start: name at least one --group or --target")
	}
	cl, err := g.dial(cmd.Context())
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := checkTargets(cmd.Context(), cl, o.groups, o.nodes, o.allowEmpty); err != nil {
		return err
	}
	if err := cl.Prefetch(cmd.Context(), ref, o.groups, o.nodes); err != nil {
		return err
	}
	var st *client.PrefetchStatus
	if o.wait {
		s, err := waitPrefetch(cmd.Context(), cl, ref, cmd.ErrOrStderr())
		if err != nil {
			return err
		}
		st = &s
	}
	if g.json {
		return printJSON(cmd.OutOrStdout(), prefetchStarted{Ref: ref.String(), Groups: o.groups, Nodes: o.nodes, Status: st})
	}
	if st != nil {
		return printPrefetch(cmd.OutOrStdout(), *st)
	}
	return nil
}

// prefetchStarted is what prefetch start --json prints.
type prefetchStarted struct {
	Ref    string                 `json:"ref"`
	Groups []string               `json:"groups,omitempty"`
	Nodes  []string               `json:"nodes,omitempty"`
	Status *client.PrefetchStatus `json:"status,omitempty"` // with --wait: the final status
}

func newPrefetchStatusCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "status REF",
		Short:   "show each live target's progress on REF (asked through the node)",
		Example: prefetchStatusExample,
		Args:    exactArgs(1, "one REF"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := parseRef(args[0])
			if err != nil {
				return err
			}
			cl, err := g.dial(cmd.Context())
			if err != nil {
				return err
			}
			defer cl.Close()
			st, err := cl.PrefetchStatus(cmd.Context(), ref)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), st)
			}
			return printPrefetch(cmd.OutOrStdout(), st)
		},
	}
}

// printPrefetch shows one object's progress per target. The node counts the
// bytes it served to peers over all objects, not per object: the column
// says so.
func printPrefetch(out io.Writer, st client.PrefetchStatus) error {
	fmt.Fprintf(out, "ref %s  source %s\n", st.Ref, st.Source)
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NODE\tSTATE\tBLOCKS\tBYTES\tERROR\tSERVED (ALL OBJECTS)")
	for _, n := range st.Nodes {
		fmt.Fprintf(w, "%s\t%s\t%d/%d\t%s/%s\t%s\t%s\n", n.Node, n.State, n.Blocks, n.Total, units.Human(n.Bytes),
			units.Human(n.Size), orDash(n.Error), units.Human(n.Served))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(out, "SERVED: bytes each node sent to peers since it started, over all objects (the node asked: %s)\n",
		units.Human(st.Served))
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// waitPrefetch blocks until every live target holds ref, drawing a bar of
// the bytes held over all targets.
func waitPrefetch(ctx context.Context, c *client.Client, ref blocks.Ref, stderr io.Writer) (client.PrefetchStatus, error) {
	var bar *progress
	st, err := c.WaitPrefetch(ctx, ref, 200*time.Millisecond, func(st client.PrefetchStatus) {
		held, want := st.Progress()
		if bar == nil && want > 0 {
			bar = newProgress(stderr, fmt.Sprintf("prefetch to %d nodes", len(st.Nodes)), want)
		}
		if bar != nil {
			bar.set(held)
		}
	})
	if bar != nil {
		bar.finish(err == nil)
	}
	return st, err
}

// checkTargets fails with ErrUnavailable (exit 6) when a group has no live
// member or a target node is not a live member, as a mistyped name would:
// the prefetch would otherwise be recorded and succeed with nothing to do.
func checkTargets(ctx context.Context, c *client.Client, groups, nodes []string, allowEmpty bool) error {
	if allowEmpty || len(groups)+len(nodes) == 0 {
		return nil
	}
	members, _, err := c.Members(ctx, 0)
	if err != nil {
		return err
	}
	liveGroups, liveNodes := map[string]bool{}, map[string]bool{}
	for _, m := range members {
		if m.State != "alive" && m.State != "suspect" {
			continue
		}
		liveNodes[m.ID] = true
		for _, grp := range m.Groups {
			liveGroups[grp] = true
		}
	}
	for _, grp := range groups {
		if !liveGroups[grp] {
			return fmt.Errorf("%w: no live member is in group %q (emerge peers lists the groups; --allow-empty records the prefetch anyway)",
				client.ErrUnavailable, grp)
		}
	}
	for _, id := range nodes {
		if !liveNodes[id] {
			return fmt.Errorf("%w: no live member has id %q (emerge peers lists them; --allow-empty records the prefetch anyway)",
				client.ErrUnavailable, id)
		}
	}
	return nil
}

// prefetchFlags are put's prefetch options.
type prefetchFlags struct {
	groups, nodes []string
	waitFlag      bool
	allowEmpty    bool
}

func (p *prefetchFlags) add(f interface {
	StringArrayVar(*[]string, string, []string, string)
	BoolVar(*bool, string, bool, string)
}) {
	f.StringArrayVar(&p.groups, "prefetch-group", nil, "spread the object to every member of this group (repeatable)")
	f.StringArrayVar(&p.nodes, "prefetch-node", nil, "spread the object to this node id (repeatable)")
	f.BoolVar(&p.waitFlag, "wait", false, "with --prefetch-*: return once every live target holds the object")
	f.BoolVar(&p.allowEmpty, "allow-empty", false, "with --prefetch-*: spread even if a group has no live member or a node is not live")
}

// check runs before the put, so that a mistyped group stores nothing.
func (p *prefetchFlags) check(ctx context.Context, c *client.Client) error {
	return checkTargets(ctx, c, p.groups, p.nodes, p.allowEmpty)
}

func (p *prefetchFlags) wait(cmd *cobra.Command, c *client.Client, ref blocks.Ref) error {
	if !p.waitFlag {
		return nil
	}
	_, err := waitPrefetch(cmd.Context(), c, ref, cmd.ErrOrStderr())
	return err
}
