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
		Args:  exactArgs(0, "no arguments"),
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
			fmt.Fprintln(w, "REF\tSIZE\tREPLICAS\tCREATED\tTYPE")
			for _, o := range all {
				fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\n", o.Ref, units.Human(o.Size), o.Replicas,
					o.Created.Local().Format(time.DateTime), o.ContentType)
			}
			return w.Flush()
		},
	}
}
