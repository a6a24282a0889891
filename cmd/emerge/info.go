package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/emerge-dev/emerge/internal/units"
	"github.com/spf13/cobra"
)

func newInfoCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "info",
		Short:   "show the node's identity and store counters",
		Example: infoExample,
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.dial(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close()
			st, err := c.Status(cmd.Context())
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), st)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintf(w, "node\t%s\nrpc\t%s\nhost\t%s\nversion\t%s\n", st.ID, st.Endpoint, st.Host, st.Version)
			fmt.Fprintf(w, "objects\t%d\nblocks\t%d (%s)\ndisk\t%s\nuploads open\t%d\nserved to peers\t%s\n",
				st.Objects, st.Blocks, units.Human(st.BlockBytes), units.Human(st.DiskBytes), st.Uploads,
				units.Human(st.Served))
			if s := st.Shm; s != nil {
				fmt.Fprintf(w, "shared memory\t%s of %s, %d hot objects, in %s\n", units.Human(s.Used), units.Human(s.Capacity),
					s.Objects, s.Dir)
			}
			return w.Flush()
		},
	}
}
