package bench

import (
	"os"
	"testing"

	"github.com/emerge-dev/emerge/internal/tune"
)

// TestMain raises glibc's mmap threshold as the emerge binary does: without
// it ZeroMQ's 1 MiB buffers are fresh pages every time (MACHINE-NOTES.md).
// EMERGE_NO_TUNE=1 measures the untuned process.
func TestMain(m *testing.M) {
	if os.Getenv("EMERGE_NO_TUNE") == "" {
		tune.Malloc()
	}
	os.Exit(m.Run())
}
