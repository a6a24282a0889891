package main

import (
	"fmt"

	"github.com/emerge-dev/emerge/internal/units"
	"github.com/spf13/cobra"
)

func newRmCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "rm REF",
		Short: "delete an object",
		Args:  exactArgs(1, "one REF"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := parseRef(args[0])
			if err != nil {
				return err
			}
			c, err := g.dial(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close()
			freed, err := c.Delete(cmd.Context(), ref)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), map[string]any{"ref": ref.String(), "deleted": true, "freed": freed})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %s (freed %s on %s)\n", ref, units.Human(freed), c.Node().ID)
			return nil
		},
	}
}
