package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/emerge-dev/emerge/node"
	"github.com/spf13/cobra"
)

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print the version",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if g.json {
				return printJSON(cmd.OutOrStdout(), map[string]string{"version": node.Version})
			}
			fmt.Fprintln(cmd.OutOrStdout(), "emerge", node.Version)
			return nil
		},
	}
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
