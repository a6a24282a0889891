package gateway_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/node"
)

// A GET through a node that does not hold the object streams it from the
// member that does; the reading node's metrics show a fetch and peer bytes,
// the holder's the bytes it served.
func TestGetThroughAnotherNode(t *testing.T) {
	nodes := nodetest.Cluster(t, 3, func(i int, c *node.Config) { c.Replicas = 1 })
	data := random(t, 9<<20+7)
	ref := put(t, nodes[0].HTTPEndpoint(), data, nil).Ref
	resp, b := do(t, http.MethodGet, nodes[2].HTTPEndpoint()+"/ref/"+ref, nil, map[string]string{"Range": "bytes=4194000-"})
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(b, data[4194000:]) {
		t.Fatalf("ranged get through another node: %s, %d bytes", resp.Status, len(b))
	}
	resp, b = do(t, http.MethodGet, nodes[2].HTTPEndpoint()+"/ref/"+ref, nil, nil)
	if resp.StatusCode != 200 || !bytes.Equal(b, data) {
		t.Fatalf("get through another node: %s, %d bytes", resp.Status, len(b))
	}
	reader := nodes[2].Metrics().Registry()
	if v := value(t, reader, "emerge_block_received_bytes_total", "peer"); v < float64(len(data)-4194000) {
		t.Errorf("peer bytes received %v", v)
	}
	nodetest.WaitFor(t, 5*time.Second, "the fetch to be reported", func() bool {
		return value(t, reader, "emerge_fetch_duration_seconds", "") >= 1
	})
	if v := value(t, nodes[0].Metrics().Registry(), "emerge_block_sent_bytes_total", "peer"); v == 0 {
		t.Errorf("the holder reports no peer bytes sent")
	}
	// A who-has for a block only node 0 holds is answered, and timed.
	ctx := nodetest.Context(t, 10*time.Second)
	m, err := nodes[1].Files().Manifest(ctx, mustRef(t, ref))
	if err != nil {
		t.Fatal(err)
	}
	before := value(t, nodes[1].Metrics().Registry(), "emerge_whohas_duration_seconds", "found")
	if found, _ := nodes[1].Files().Locate(ctx, m.Blocks[:1], 5*time.Second); len(found[m.Blocks[0]]) == 0 {
		t.Fatal("who-has found no holder")
	}
	if v := value(t, nodes[1].Metrics().Registry(), "emerge_whohas_duration_seconds", "found"); v != before+1 {
		t.Errorf("who-has lookups found: %v, want %v", v, before+1)
	}
}

// Closing a node cuts a GET being streamed and returns: the client sees
// fewer bytes than Content-Length announced, never a complete wrong body.
func TestCloseCutsAStreamingGet(t *testing.T) {
	n := nodetest.Start(t, quick)
	data := random(t, 64<<20)
	ref := put(t, n.HTTPEndpoint(), data, nil).Ref
	resp, err := http.Get(n.HTTPEndpoint() + "/ref/" + ref)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	head := make([]byte, 1<<20)
	if _, err := io.ReadFull(resp.Body, head); err != nil || !bytes.Equal(head, data[:1<<20]) {
		t.Fatalf("first MiB: %v", err)
	}
	closed := make(chan error, 1)
	go func() { closed <- n.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not return while a GET streamed")
	}
	rest, err := io.ReadAll(resp.Body)
	if err == nil || len(head)+len(rest) >= len(data) {
		t.Fatalf("read %d of %d bytes after Close, err %v", len(head)+len(rest), len(data), err)
	}
}
