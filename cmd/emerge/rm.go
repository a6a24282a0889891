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
	var all bool
	c := &cobra.Command{
		Use:   "rm REF...|PATH...",
		Short: "delete objects, or remove names",
		Long: "Delete objects, network-wide. Each ref is reported on its own line (a failure on stderr); the\n" +
			"others are deleted anyway, and the exit code is that of the first failure.\n" +
			"A name (/models/policy.bin) is removed instead: it resolves no more, its earlier versions stay\n" +
			"readable as PATH@N. --all-versions removes every version and deletes the objects no other name\n" +
			"or version uses.",
		Example: rmExample,
		Args:    minArgs(1, "one or more REFs or PATHs"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if names, err := namesOnly(args); err != nil || names {
				return eachName(cmd, g, args, all, err) // names.go
			}
			if all {
				return usagef("rm: --all-versions applies to PATHs, not REFs")
			}
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
	c.Flags().BoolVar(&all, "all-versions", false, "with PATHs: remove every version, and the objects no other name uses")
	return c
}

// rmOutput is what rm --json prints for each ref.
type rmOutput struct {
	Ref     string `json:"ref"`
	Deleted bool   `json:"deleted"`
	Freed   int64  `json:"freed"` // bytes freed on the node asked
	Node    string `json:"node"`  // the node asked
}
