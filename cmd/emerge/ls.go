package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/emerge-dev/emerge/internal/units"
	"github.com/spf13/cobra"
)

func newLsCmd(g *globals) *cobra.Command {
	var recursive bool
	c := &cobra.Command{
		Use:   "ls [PREFIX]",
		Short: "list the objects the node holds, or the names under PREFIX",
		Long: "List the objects the node holds: ref, size, blocks held here of the object's blocks, replicas,\n" +
			"creation time (UTC) and content type. --json adds the metadata.\n" +
			"With PREFIX (/models/) list the names there instead: size, versions, owner, mode, latest ref;\n" +
			"subdirectories end with /, and -r lists every name below.",
		Example: lsExample,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				return lsNames(cmd, g, args[0], recursive) // names.go
			}
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
	c.Flags().BoolVarP(&recursive, "recursive", "r", false, "with PREFIX: every name below it, not only its direct entries")
	return c
}
