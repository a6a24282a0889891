package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/node"
)

// Exit codes. Scripts may rely on them; only append.
const (
	exitOK          = 0
	exitError       = 1 // anything not listed below
	exitUsage       = 2 // bad flags or arguments, malformed ref, unreadable input, bad config
	exitNotFound    = 3 // unknown or deleted ref
	exitUnreachable = 4 // no node answering at the endpoint
	exitNoSpace     = 5 // the node's disk or shared memory is full
	exitUnavailable = 6 // node busy, or too few members alive for the replicas asked
	exitDenied      = 7 // the node refused our cluster secret or key (or wants one)
	exitConflict    = 8 // a compare-and-set (put --if-version) found another version
	exitInterrupted = 130
)

// usageError marks errors in how the command was called.
type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

func exitCode(err error) int {
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue), errors.Is(err, client.ErrBadRef), errors.Is(err, client.ErrBadRequest),
		errors.Is(err, client.ErrTooLarge), errors.Is(err, node.ErrConfig), errors.Is(err, client.ErrBadEndpoint),
		errors.Is(err, client.ErrBadKey):
		return exitUsage
	case errors.Is(err, client.ErrDenied):
		return exitDenied
	case errors.Is(err, client.ErrConflict):
		return exitConflict
	case errors.Is(err, client.ErrNotFound), errors.Is(err, client.ErrDeleted):
		return exitNotFound
	case errors.Is(err, client.ErrUnreachable), errors.Is(err, context.DeadlineExceeded):
		return exitUnreachable
	case errors.Is(err, client.ErrNoSpace):
		return exitNoSpace
	case errors.Is(err, client.ErrUnavailable):
		return exitUnavailable
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	}
	return exitError
}

// report prints err as one line on stderr.
func report(w io.Writer, err error) {
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	fmt.Fprintf(w, "emerge: %s\n", msg)
}
