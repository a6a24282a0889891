// Command emerge runs an emerge node and talks to one: put, get, rm, stat,
// ls. Run "emerge help" for the tour.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/emerge-dev/emerge/internal/tune"
	"github.com/emerge-dev/emerge/node"
)

func main() {
	tune.Malloc()
	if bi, ok := debug.ReadBuildInfo(); ok { // what Ping and info report, when the Makefile did not set it
		node.Version = versionInfo(node.Version, commit, date, bi).Version
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
