package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/units"
	"github.com/spf13/cobra"
)

func newStatCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "stat REF...",
		Short: "describe objects",
		Long: "Describe objects: size, blocks (and how many the node holds), replicas, creation time (UTC),\n" +
			"content type, metadata. Several refs give one block each, a failure on stderr; the exit code is\n" +
			"that of the first failure. With --json, one JSON object per ref.",
		Example: statExample,
		Args:    minArgs(1, "one or more REFs"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var sep separator
			return eachRef(cmd, g, args, func(ctx context.Context, ref blocks.Ref, c *client.Client) error {
				info, err := c.Stat(ctx, ref)
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), info)
				}
				sep.next(cmd.OutOrStdout())
				return printStat(cmd.OutOrStdout(), info, c.Node().ID)
			})
		},
	}
}

func printStat(out io.Writer, info client.Info, node string) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "ref\t%s\n", info.Ref)
	fmt.Fprintf(w, "size\t%d (%s)\n", info.Size, units.Human(info.Size))
	fmt.Fprintf(w, "blocks\t%d x %s (%d held by %s)\n", info.Blocks, units.ByteSize(info.BlockSize), info.Local, node)
	fmt.Fprintf(w, "replicas\t%d\n", info.Replicas)
	fmt.Fprintf(w, "created\t%s\n", info.Created.UTC().Format(time.RFC3339))
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
}
