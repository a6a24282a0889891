package main

import (
	"context"
	"fmt"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/units"
	"github.com/spf13/cobra"
)

func newRmCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "rm REF...",
		Short: "delete objects",
		Long: "Delete objects, network-wide. Each ref is reported on its own line (a failure on stderr); the\n" +
			"others are deleted anyway, and the exit code is that of the first failure.",
		Example: rmExample,
		Args:    minArgs(1, "one or more REFs"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return eachRef(cmd, g, args, func(ctx context.Context, ref blocks.Ref, c *client.Client) error {
				freed, err := c.Delete(ctx, ref)
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), rmOutput{Ref: ref.String(), Deleted: true, Freed: freed, Node: c.Node().ID})
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "deleted %s (freed %s on %s)\n", ref, units.Human(freed), c.Node().ID)
				return err
			})
		},
	}
}

// rmOutput is what rm --json prints for each ref.
type rmOutput struct {
	Ref     string `json:"ref"`
	Deleted bool   `json:"deleted"`
	Freed   int64  `json:"freed"` // bytes freed on the node asked
	Node    string `json:"node"`  // the node asked
}
