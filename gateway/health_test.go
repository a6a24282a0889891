package gateway_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/node"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// /healthz and /readyz answer 200 on a node that runs alone.
func TestHealthAndReady(t *testing.T) {
	n := nodetest.Start(t, nil)
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, b := do(t, http.MethodGet, n.HTTPEndpoint()+path, nil, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %s %s", path, resp.Status, b)
		}
	}
}

// A node given peers it cannot reach is alive but not ready, and says why.
func TestNotReadyUntilJoined(t *testing.T) {
	n := nodetest.Start(t, func(c *node.Config) { c.Peers = []string{"tcp://127.0.0.1:1"} })
	if resp, _ := do(t, http.MethodGet, n.HTTPEndpoint()+"/healthz", nil, nil); resp.StatusCode != 200 {
		t.Fatalf("healthz: %s", resp.Status)
	}
	resp, b := do(t, http.MethodGet, n.HTTPEndpoint()+"/readyz", nil, nil)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "no member reached yet") {
		t.Fatalf("readyz: %s %s", resp.Status, b)
	}
}

// http_off: no HTTP endpoint at all.
func TestHTTPOff(t *testing.T) {
	n := nodetest.Start(t, func(c *node.Config) { c.HTTPOff = true })
	if n.HTTPEndpoint() != "" {
		t.Fatalf("endpoint %q with http_off", n.HTTPEndpoint())
	}
}

// /metrics of a node that served puts and gets: Prometheus text, names that
// pass promlint, and counters that moved.
func TestMetricsEndpoint(t *testing.T) {
	n := nodetest.Start(t, quick)
	base := n.HTTPEndpoint()
	data := random(t, 2<<20)
	ref := put(t, base, data, nil).Ref
	do(t, http.MethodGet, base+"/ref/"+ref, nil, nil)
	c, err := client.Dial(nodetest.Context(t, 5*time.Second), n.Endpoint(), &client.Options{NoShm: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.GetBytes(nodetest.Context(t, 10*time.Second), mustRef(t, ref)); err != nil {
		t.Fatal(err)
	}
	resp, b := do(t, http.MethodGet, base+"/metrics", nil, nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("metrics: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		`emerge_rpc_requests_total{op="get_object",status="ok"}`,
		`emerge_members{state="alive"} 1`,
		`emerge_store_objects 1`,
		`emerge_put_duration_seconds_count 1`,
		`emerge_get_duration_seconds_count 1`,
		`emerge_http_requests_total{api="ref",code="2xx"} 2`,
		`emerge_repair_copies_total 0`, `emerge_scrub_blocks_total`, `emerge_corrupt_copies_total 0`,
		`go_goroutines`, `process_resident_memory_bytes`,
	} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("no %s in /metrics", want)
		}
	}
	reg := n.Metrics().Registry()
	// Sent: the HTTP GET and the rpc get. Received: the HTTP put.
	if v := value(t, reg, "emerge_block_sent_bytes_total", "client"); v != float64(2*len(data)) {
		t.Errorf("client bytes sent %v, want %d", v, 2*len(data))
	}
	if v := value(t, reg, "emerge_block_received_bytes_total", "client"); v != float64(len(data)) {
		t.Errorf("client bytes received %v, want %d", v, len(data))
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// value is the counter or gauge name with the one label value given ("" for
// none), summed over the series that match.
func value(t *testing.T, reg prometheus.Gatherer, name, label string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var v float64
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if label != "" && (len(m.GetLabel()) == 0 || m.GetLabel()[0].GetValue() != label) {
				continue
			}
			switch {
			case m.Counter != nil:
				v += m.GetCounter().GetValue()
			case m.Gauge != nil:
				v += m.GetGauge().GetValue()
			case m.Histogram != nil:
				v += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return v
}
