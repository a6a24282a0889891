package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/emerge-dev/emerge/internal/units"
	"github.com/spf13/cobra"
)

func newLsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "ls",
		Short: "list the objects the node holds",
		Long: "List the objects the node holds: ref, size, blocks held here of the object's blocks, replicas,\n" +
			"creation time (UTC) and content type. --json adds the metadata.",
		Example: lsExample,
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.dial(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close()
			all, err := c.ListAll(cmd.Context())
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), all)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "REF\tSIZE\tBLOCKS HERE\tREPLICAS\tCREATED (UTC)\tTYPE")
			for _, o := range all {
				fmt.Fprintf(w, "%s\t%s\t%d/%d\t%d\t%s\t%s\n", o.Ref, units.Human(o.Size), o.Local, o.Blocks, o.Replicas,
					o.Created.UTC().Format(time.DateTime), o.ContentType)
			}
			return w.Flush()
		},
	}
}
