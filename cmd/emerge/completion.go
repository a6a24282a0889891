package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/units"
	"github.com/spf13/cobra"
)

// Shell completion (emerge completion bash|zsh|fish|powershell) offers refs
// from the node's ls, group names and node ids from its member table, and
// the values of enum flags. Asking the node is bounded by completeTimeout
// and silent on failure: a completion never prints an error.

const completeTimeout = time.Second

// addCompletions registers the completion functions on the command tree.
func addCompletions(root *cobra.Command, g *globals) {
	refs := func(many bool) cobra.CompletionFunc { return completeRefs(g, many) }
	for path, fn := range map[string]cobra.CompletionFunc{
		"get": refs(false), "stat": refs(true), "rm": refs(true),
		"prefetch start": refs(false), "prefetch status": refs(false),
		"group join": firstArgOnly(completeNetworkGroups(g)), "group leave": firstArgOnly(completeNodeGroups(g)),
	} {
		findCmd(root, path).ValidArgsFunction = fn
	}
	for _, f := range []struct{ cmd, flag string }{{"put", "prefetch-group"}, {"prefetch start", "group"}, {"node", "group"}} {
		register(findCmd(root, f.cmd), f.flag, completeNetworkGroups(g))
	}
	for _, f := range []struct{ cmd, flag string }{{"put", "prefetch-node"}, {"prefetch start", "target"}} {
		register(findCmd(root, f.cmd), f.flag, completeNodeIDs(g))
	}
	node := findCmd(root, "node")
	register(node, "log-format", cobra.FixedCompletions([]string{"auto", "console", "json"}, cobra.ShellCompDirectiveNoFileComp))
	register(node, "log-level", cobra.FixedCompletions([]string{"debug", "info", "warn", "error"}, cobra.ShellCompDirectiveNoFileComp))
	for _, flag := range []string{"shm-off", "sync-writes"} {
		register(node, flag, cobra.FixedCompletions([]string{"true", "false"}, cobra.ShellCompDirectiveNoFileComp))
	}
	node.MarkFlagFilename("config", "yaml", "yml")
	node.MarkFlagDirname("data-dir")
	root.RegisterFlagCompletionFunc("node", cobra.NoFileCompletions)
	for _, c := range []string{"ls", "info", "peers", "config", "version", "group ls"} {
		findCmd(root, c).ValidArgsFunction = cobra.NoFileCompletions
	}
}

func findCmd(root *cobra.Command, path string) *cobra.Command {
	c, _, err := root.Find(strings.Fields(path))
	if err != nil || c == root {
		panic(fmt.Sprintf("completion for unknown command %q", path)) // a programming error, caught by the tests
	}
	return c
}

func register(c *cobra.Command, flag string, fn cobra.CompletionFunc) {
	if err := c.RegisterFlagCompletionFunc(flag, fn); err != nil {
		panic(err) // a programming error, caught by the tests
	}
}

// askNode dials the node for a completion, bounded by completeTimeout.
func askNode[T any](cmd *cobra.Command, g *globals, ask func(context.Context, *client.Client) (T, error)) (T, bool) {
	var zero T
	ctx, cancel := context.WithTimeout(cmd.Context(), completeTimeout)
	defer cancel()
	c, err := client.Dial(ctx, g.node, &client.Options{DialTimeout: completeTimeout, NoShm: true})
	if err != nil {
		return zero, false
	}
	defer c.Close()
	v, err := ask(ctx, c)
	return v, err == nil
}

// completeRefs offers the refs the node lists, with size and type; many
// leaves out those already on the command line.
func completeRefs(g *globals, many bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 && !many {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		objs, ok := askNode(cmd, g, func(ctx context.Context, c *client.Client) ([]client.Info, error) { return c.ListAll(ctx) })
		if !ok {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		given := map[string]bool{}
		for _, a := range args {
			given[a] = true
		}
		var out []string
		for _, o := range objs {
			ref := o.Ref.String()
			if strings.HasPrefix(ref, toComplete) && !given[ref] {
				out = append(out, fmt.Sprintf("%s\t%s %s %s", ref, units.Human(o.Size), o.Created.Format(time.DateOnly), o.ContentType))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeNetworkGroups offers the groups of every live member.
func completeNetworkGroups(g *globals) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		members, ok := askNode(cmd, g, func(ctx context.Context, c *client.Client) ([]client.Member, error) {
			ms, _, err := c.Members(ctx, 0)
			return ms, err
		})
		if !ok {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		set := map[string]bool{}
		for _, m := range members {
			for _, grp := range m.Groups {
				set[grp] = true
			}
		}
		return prefixed(set, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeNodeGroups offers the groups of the node (what it can leave).
func completeNodeGroups(g *globals) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		groups, ok := askNode(cmd, g, func(ctx context.Context, c *client.Client) ([]string, error) { return c.Groups(ctx) })
		if !ok {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		set := map[string]bool{}
		for _, grp := range groups {
			set[grp] = true
		}
		return prefixed(set, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeNodeIDs offers the ids of the live members, with their endpoint.
func completeNodeIDs(g *globals) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		members, ok := askNode(cmd, g, func(ctx context.Context, c *client.Client) ([]client.Member, error) {
			ms, _, err := c.Members(ctx, 0)
			return ms, err
		})
		if !ok {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		for _, m := range members {
			if (m.State == "alive" || m.State == "suspect") && strings.HasPrefix(m.ID, toComplete) {
				out = append(out, fmt.Sprintf("%s\t%s %s", m.ID, m.RPC, strings.Join(m.Groups, ",")))
			}
		}
		sort.Strings(out)
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// firstArgOnly completes the first argument only (group join NAME).
func firstArgOnly(fn cobra.CompletionFunc) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return fn(cmd, args, toComplete)
	}
}

func prefixed(set map[string]bool, prefix string) []string {
	var out []string
	for s := range set {
		if strings.HasPrefix(s, prefix) {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}
