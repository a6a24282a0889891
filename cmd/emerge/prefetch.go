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
		Use:   "prefetch",
		Short: "spread an object to groups of nodes, and watch it spread",
		Args:  exactArgs(0, "a subcommand: start or status"),
	}
	var groups, nodes []string
	var wait bool
	start := &cobra.Command{
		Use:   "start REF",
		Short: "spread REF (held by the node) to every member of the groups and to the nodes",
		Args:  exactArgs(1, "one REF"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := parseRef(args[0])
			if err != nil {
				return err
			}
			if len(groups)+len(nodes) == 0 {
				return usagef("prefetch start: name at least one --group or --target")
			}
			cl, err := g.dial(cmd.Context())
			if err != nil {
				return err
			}
			defer cl.Close()
			if err := cl.Prefetch(cmd.Context(), ref, groups, nodes); err != nil || !wait {
				return err
			}
			_, err = waitPrefetch(cmd.Context(), cl, ref, cmd.ErrOrStderr())
			return err
		},
	}
	start.Flags().StringArrayVar(&groups, "group", nil, "target group (repeatable)")
	start.Flags().StringArrayVar(&nodes, "target", nil, "target node id (repeatable; --node is the endpoint of the node to ask)")
	start.Flags().BoolVar(&wait, "wait", false, "return once every live target holds the object")
	status := &cobra.Command{
		Use:   "status REF",
		Short: "show each live target's progress on REF (asked through the node)",
		Args:  exactArgs(1, "one REF"),
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
	c.AddCommand(start, status)
	return c
}

func printPrefetch(out io.Writer, st client.PrefetchStatus) error {
	fmt.Fprintf(out, "ref %s  source %s  served to peers by the node asked %s\n", st.Ref, st.Source, units.Human(st.Served))
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NODE\tSTATE\tBLOCKS\tBYTES\tSERVED\tERROR")
	for _, n := range st.Nodes {
		fmt.Fprintf(w, "%s\t%s\t%d/%d\t%s/%s\t%s\t%s\n", n.Node, n.State, n.Blocks, n.Total, units.Human(n.Bytes),
			units.Human(n.Size), units.Human(n.Served), n.Error)
	}
	return w.Flush()
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

// prefetchFlags are put's prefetch options.
type prefetchFlags struct {
	groups, nodes []string
	waitFlag      bool
}

func (p *prefetchFlags) add(f interface {
	StringArrayVar(*[]string, string, []string, string)
	BoolVar(*bool, string, bool, string)
}) {
	f.StringArrayVar(&p.groups, "prefetch-group", nil, "spread the object to every member of this group (repeatable)")
	f.StringArrayVar(&p.nodes, "prefetch-node", nil, "spread the object to this node id (repeatable)")
	f.BoolVar(&p.waitFlag, "wait", false, "with --prefetch-*: return once every live target holds the object")
}

func (p *prefetchFlags) wait(cmd *cobra.Command, c *client.Client, ref blocks.Ref) error {
	if !p.waitFlag {
		return nil
	}
	_, err := waitPrefetch(cmd.Context(), c, ref, cmd.ErrOrStderr())
	return err
}
