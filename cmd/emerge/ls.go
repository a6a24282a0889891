package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/client"
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
			return lsObjects(cmd.Context(), c, cmd.OutOrStdout(), g.json)
		},
	}
	c.Flags().BoolVarP(&recursive, "recursive", "r", false, "with PREFIX: every name below it, not only its direct entries")
	return c
}

// lsObjects prints the node's objects a page at a time as the node returns
// them, so a node holding a million objects lists in constant memory and the
// first lines appear after one page, not after the whole list. Columns keep
// a minimum width so that pages (each aligned on its own, the first with the
// header) line up. --json
// writes the same array as printJSON would have, one element at a time.
func lsObjects(ctx context.Context, c *client.Client, out io.Writer, asJSON bool) error {
	bw := bufio.NewWriter(out)
	w := tabwriter.NewWriter(bw, 13, 4, 2, ' ', 0) // 13: "BLOCKS HERE" and its padding
	if asJSON {
		bw.WriteString("[")
	} else {
		fmt.Fprintln(w, "REF\tSIZE\tBLOCKS HERE\tREPLICAS\tCREATED (UTC)\tTYPE")
	}
	n := 0
	var after blocks.Ref
	for {
		page, next, err := c.List(ctx, client.ListOptions{After: after})
		if err != nil {
			bw.Flush()
			return err
		}
		for _, o := range page {
			if asJSON {
				b, err := json.MarshalIndent(o, "  ", "  ")
				if err != nil {
					return err
				}
				if n > 0 {
					bw.WriteString(",")
				}
				bw.WriteString("\n  ")
				bw.Write(b)
			} else {
				fmt.Fprintf(w, "%s\t%s\t%d/%d\t%d\t%s\t%s\n", o.Ref, units.Human(o.Size), o.Local, o.Blocks, o.Replicas,
					o.Created.UTC().Format(time.DateTime), o.ContentType)
			}
			n++
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		if next.IsZero() {
			break
		}
		after = next
	}
	if asJSON {
		if n > 0 {
			bw.WriteString("\n")
		}
		bw.WriteString("]\n")
	}
	return bw.Flush()
}
