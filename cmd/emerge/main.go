// Command emerge runs an emerge node and talks to one: put, get, rm, stat,
// ls. Run "emerge help" for the tour.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/emerge-dev/emerge/internal/tune"
)

func main() {
	tune.Malloc()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
