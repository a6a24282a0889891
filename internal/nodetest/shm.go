package nodetest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/emerge-dev/emerge/blocks/shm"
)

// ShmDir returns a directory for a node's shared-memory tier on the real
// shared-memory filesystem (/dev/shm), in a fresh parent removed at cleanup,
// so that a node that was killed leaves nothing there.
func ShmDir(t testing.TB) string {
	t.Helper()
	parent, err := os.MkdirTemp(filepath.Dir(shm.DefaultDir("test")), "emerge-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(parent) })
	return filepath.Join(parent, "shm")
}
