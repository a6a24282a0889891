package client

import "testing"

// A client hashes blocks again only when they come from another machine,
// or when asked to with VerifyLocal.
func TestTrustsOnlyANodeOnThisMachine(t *testing.T) {
	for _, tc := range []struct {
		node, self  string
		verifyLocal bool
		want        bool
	}{
		{"h1", "h1", false, true},
		{"h1", "h1", true, false},
		{"h2", "h1", false, false},
		{"", "", false, false}, // a node that did not say where it runs
	} {
		c := &Client{opts: Options{VerifyLocal: tc.verifyLocal}, node: NodeInfo{Host: tc.node}}
		c.shm.host = tc.self
		if got := c.trustsNode(); got != tc.want {
			t.Errorf("node on %q, client on %q, VerifyLocal %v: trusts %v, want %v", tc.node, tc.self, tc.verifyLocal, got, tc.want)
		}
	}
}
