package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func newGroupCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:     "group",
		Short:   "join, leave or list the groups of the node (prefetch targets)",
		Example: groupExample,
	}
	asParent(c)
	c.AddCommand(
		groupVerb(g, "join NAME", "make the node a member of group NAME (kept across restarts)", groupJoinExample, true),
		groupVerb(g, "leave NAME", "take the node out of group NAME", groupLeaveExample, true),
		groupVerb(g, "ls", "list the node's groups", groupLsExample, false),
	)
	return c
}

func groupVerb(g *globals, use, short, example string, named bool) *cobra.Command {
	verb, _, _ := strings.Cut(use, " ")
	want, what := 0, "no arguments"
	if named {
		want, what = 1, "one group NAME"
	}
	return &cobra.Command{
		Use:     use,
		Short:   short,
		Example: example,
		Args:    exactArgs(want, what),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.dial(cmd.Context())
			if err != nil {
				return err
			}
			defer c.Close()
			var groups []string
			switch verb {
			case "join":
				groups, err = c.RegisterGroup(cmd.Context(), args[0])
			case "leave":
				groups, err = c.UnregisterGroup(cmd.Context(), args[0])
			default:
				groups, err = c.Groups(cmd.Context())
			}
			if err != nil {
				return err
			}
			if groups == nil {
				groups = []string{}
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), groups)
			}
			for _, name := range groups {
				fmt.Fprintln(cmd.OutOrStdout(), name)
			}
			return nil
		},
	}
}
