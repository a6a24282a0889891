package client

import (
	"os/exec"
	"strings"
	"testing"
)

// TestClientLinksNoDatabase holds the promise that a program embedding the
// Go client links no Badger (nor what Badger pulls in): the store lives in
// blocks/store, which only the node imports.
func TestClientLinksNoDatabase(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, bad := range []string{"dgraph-io", "opentelemetry", "protobuf", "flatbuffers", "blocks/store"} {
			if strings.Contains(dep, bad) {
				t.Errorf("the client links %s", dep)
			}
		}
	}
}
