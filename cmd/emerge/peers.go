package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

type peersOptions struct {
	events bool
}

func newPeersCmd(g *globals) *cobra.Command {
	o := &peersOptions{}
	c := &cobra.Command{
		Use:     "peers",
		Short:   "list the members of the network as the node sees them",
		Example: peersExample,
		Args:    exactArgs(0, "no arguments"),
		RunE:    func(cmd *cobra.Command, args []string) error { return o.run(cmd, g) },
	}
	c.Flags().BoolVar(&o.events, "events", false, "also list recent joins, departures and state changes")
	return c
}

func (o *peersOptions) run(cmd *cobra.Command, g *globals) error {
	c, err := g.dial(cmd.Context())
	if err != nil {
		return err
	}
	defer c.Close()
	members, events, err := c.Members(cmd.Context(), 0)
	if err != nil {
		return err
	}
	if g.json {
		if o.events {
			return printJSON(cmd.OutOrStdout(), map[string]any{"members": members, "events": events})
		}
		return printJSON(cmd.OutOrStdout(), members)
	}
	w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NODE\tSTATE\tRPC\tPUB\tGROUPS\tHEARD")
	for _, m := range members {
		id := m.ID
		if m.Self {
			id += " (self)"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", id, m.State, m.RPC, m.Pub, strings.Join(m.Groups, ","), ago(m.LastHeard, m.Self))
	}
	if err := w.Flush(); err != nil || !o.events {
		return err
	}
	fmt.Fprintln(cmd.OutOrStdout())
	w = tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TIME (UTC)\tEVENT\tMEMBER\tFROM\tTO")
	for _, e := range events {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", e.At.UTC().Format(time.TimeOnly), e.Kind, e.ID, e.From, e.To)
	}
	return w.Flush()
}

func ago(t time.Time, self bool) string {
	if self {
		return "-"
	}
	if t.IsZero() {
		return "never"
	}
	return time.Since(t).Round(100*time.Millisecond).String() + " ago"
}
