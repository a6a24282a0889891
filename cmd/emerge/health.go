package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/units"
	"github.com/spf13/cobra"
)

func newHealthCmd(g *globals) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "health",
		Short: "show the durability of what the node holds: blocks under target, repair, scrub",
		Long: "Show the node's view of the durability of the blocks it holds as owner copies, from its last\n" +
			"repair pass: objects and blocks under their target number of copies, the repair queue, copies\n" +
			"repaired and trimmed, the scrub's progress and the corrupt copies it (or a read) found. With\n" +
			"--all, every live member answers for itself. Exit code 0 whatever the state: read the figures.",
		Example: healthExample,
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.dial(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close()
			hs, err := healths(cmd.Context(), c, g, all)
			if err != nil {
				return err
			}
			if g.json {
				if all {
					return printJSON(cmd.OutOrStdout(), hs)
				}
				return printJSON(cmd.OutOrStdout(), hs[0])
			}
			return printHealth(cmd.OutOrStdout(), hs)
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "ask every live member")
	return cmd
}

// healths asks the node, or every live member.
func healths(ctx context.Context, c *client.Client, g *globals, all bool) ([]client.Health, error) {
	h, err := c.Health(ctx)
	if err != nil || !all {
		return []client.Health{h}, err
	}
	out := []client.Health{h}
	members, _, err := c.Members(ctx, 0)
	if err != nil {
		return nil, err
	}
	for _, m := range members {
		if m.ID == h.Node || m.State != "alive" {
			continue
		}
		mc, err := client.Dial(ctx, m.RPC, &client.Options{DialTimeout: g.timeout, NoShm: true})
		if err != nil {
			out = append(out, client.Health{Node: m.ID, RepairDeferred: "unreachable: " + err.Error()})
			continue
		}
		mh, err := mc.Health(ctx)
		mc.Close()
		if err != nil {
			mh = client.Health{Node: m.ID, RepairDeferred: err.Error()}
		}
		out = append(out, mh)
	}
	return out, nil
}

func printHealth(out io.Writer, hs []client.Health) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NODE\tOBJECTS UNDER\tBLOCKS UNDER\tOVER\tQUEUE\tREPAIRED\tTRIMMED\tLAST PASS\tSCRUBBED\tCORRUPT\tNOTE")
	for _, h := range hs {
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d (%s)\t%d\t%s\t%d blocks, %d passes\t%d\t%s\n", h.Node,
			h.ObjectsUnderTarget, h.BlocksUnderTarget, h.BlocksOverTarget, h.RepairQueue, h.RepairedCopies,
			units.Human(h.RepairedBytes), h.TrimmedCopies, when(h.LastRepairPass), h.ScrubChecked, h.ScrubPasses,
			h.CorruptCopies, h.RepairDeferred)
	}
	return w.Flush()
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
