package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// asParent makes a command that only groups subcommands (emerge, emerge
// group, emerge prefetch) print its help when called alone, and reject an
// unknown subcommand as bad usage (exit 2) with a suggestion. Cobra's own
// handling prints help and exits 0 for "emerge group jion", and exits 1 with
// a multi-line message for "emerge lss".
func asParent(c *cobra.Command) {
	c.SuggestionsMinimumDistance = 2
	c.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		msg := fmt.Sprintf("unknown command %q", args[0])
		if cmd.HasParent() {
			msg = fmt.Sprintf("%s: unknown subcommand %q", verb(cmd), args[0])
		}
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += fmt.Sprintf("; did you mean %q?", strings.Join(s, `" or "`))
		}
		return usagef("%s (run %q for the list)", msg, cmd.CommandPath()+" --help")
	}
	c.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Help() }
	if !c.HasParent() {
		c.SetHelpCommand(newHelpCmd())
	}
}

// minArgs is cobra.MinimumNArgs with a usage error.
func minArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return usagef("%s: want %s", verb(cmd), what)
		}
		return nil
	}
}

// verb is the command's path without the program name ("group join"):
// errors are printed after "emerge: " already.
func verb(cmd *cobra.Command) string {
	path := cmd.CommandPath()
	if r := cmd.Root(); r != cmd {
		path = strings.TrimPrefix(path, r.Name()+" ")
	}
	return path
}

// newHelpCmd is cobra's help command, except that a help topic that is no
// command is bad usage (cobra prints the root's help and exits 0).
func newHelpCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "help [command]",
		Short:   "help about any command",
		Example: "  emerge help put\n  emerge help prefetch start",
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := c.Root().Find(args)
			if err != nil {
				return usageError{err}
			}
			if len(rest) > 0 && cmd.HasSubCommands() && cmd.Args != nil {
				if err := cmd.Args(cmd, rest); err != nil {
					return err
				}
			}
			return cmd.Help()
		},
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			cmd, _, err := c.Root().Find(args)
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var out []string
			for _, sub := range cmd.Commands() {
				if sub.IsAvailableCommand() && strings.HasPrefix(sub.Name(), toComplete) {
					out = append(out, sub.Name()+"\t"+sub.Short)
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		},
	}
}
