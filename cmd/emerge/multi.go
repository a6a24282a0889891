package main

import (
	"context"
	"fmt"
	"io"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/client"
	"github.com/spf13/cobra"
)

// reported is the outcome of a command over several refs whose failures
// were printed as they happened, one line each. It unwraps to the first
// failure, whose exit code the command exits with.
type reported struct {
	first  error
	failed int
}

func (r reported) Error() string {
	return fmt.Sprintf("%d failed, the first: %v", r.failed, r.first)
}

func (r reported) Unwrap() error { return r.first }

// eachRef runs do for every ref argument in order, dialing the node once.
// A failure (a malformed ref included) is printed on its own line and the
// others still run.
func eachRef(cmd *cobra.Command, g *globals, args []string, do func(context.Context, blocks.Ref, *client.Client) error) error {
	c, err := g.dial(cmd.Context())
	if err != nil {
		return err
	}
	defer c.Close()
	return eachArg(cmd, args, func(arg string) error {
		ref, err := parseRef(arg)
		if err != nil {
			return err
		}
		return do(cmd.Context(), ref, c)
	})
}

// eachArg runs do for every argument in order until the command is
// interrupted; a failure is printed on its own line and the others still
// run. The result unwraps to the first failure.
func eachArg(cmd *cobra.Command, args []string, do func(arg string) error) error {
	var out reported
	for _, arg := range args {
		if err := do(arg); err != nil {
			if out.first == nil {
				out.first = err
			}
			out.failed++
			report(cmd.ErrOrStderr(), err)
		}
		if cmd.Context().Err() != nil {
			break
		}
	}
	if out.first == nil {
		return nil
	}
	return out
}

// separator prints a blank line between the blocks of several refs.
type separator struct{ n int }

func (s *separator) next(w io.Writer) {
	if s.n > 0 {
		fmt.Fprintln(w)
	}
	s.n++
}
