package main

import (
	"fmt"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/emerge-dev/emerge/internal/units"
	"github.com/spf13/cobra"
)

func newStatCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "stat REF",
		Short: "describe an object",
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
			info, err := c.Stat(cmd.Context(), ref)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), info)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintf(w, "ref\t%s\n", info.Ref)
			fmt.Fprintf(w, "size\t%d (%s)\n", info.Size, units.Human(info.Size))
			fmt.Fprintf(w, "blocks\t%d x %s (%d held by %s)\n", info.Blocks, units.ByteSize(info.BlockSize), info.Local, c.Node().ID)
			fmt.Fprintf(w, "replicas\t%d\n", info.Replicas)
			fmt.Fprintf(w, "created\t%s\n", info.Created.Format(time.RFC3339))
			if info.ContentType != "" {
				fmt.Fprintf(w, "content-type\t%s\n", info.ContentType)
			}
			keys := make([]string, 0, len(info.Meta))
			for k := range info.Meta {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(w, "meta\t%s=%s\n", k, info.Meta[k])
			}
			return w.Flush()
		},
	}
}
