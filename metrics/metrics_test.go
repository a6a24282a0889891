package metrics_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/metrics"
	"github.com/emerge-dev/emerge/rpc"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// sources reports a little of everything, so every metric has a series.
func sources() metrics.Sources {
	return metrics.Sources{
		Members: func() map[string]int { return map[string]int{"alive": 3, "suspect": 1, "dead": 0, "left": 0} },
		Store: func() (metrics.Store, error) {
			return metrics.Store{Objects: 2, Blocks: 5, BlockBytes: 5 << 20, DiskBytes: 6 << 20}, nil
		},
		Shm: func() (metrics.Shm, bool) {
			return metrics.Shm{Capacity: 1 << 30, Used: 1 << 20, Objects: 1, Gets: 2}, true
		},
		Prefetch: func() map[string]int { return map[string]int{"running": 1, "done": 2, "failed": 0} },
		RPC:      func() metrics.RPC { return metrics.RPC{Busy: 1, BadRequests: 2} },
		Uploads:  func() int { return 1 },
		Healing: func() metrics.Healing {
			return metrics.Healing{Passed: true, BlocksUnder: 3, ObjectsUnder: 1, RepairedCopies: 2, RepairedBytes: 2 << 20}
		},
	}
}

// exercise reports one of each event.
func exercise(m *metrics.Metrics) {
	m.ObserveRPC(rpc.OpGetObject, rpc.StatusOK, time.Millisecond)
	m.ObserveRPC(rpc.Op(250), rpc.Status(200), time.Millisecond) // what a hostile peer might send
	m.ClientSent(10)
	m.ClientReceived(20)
	m.PeerSent(30)
	m.PeerReceived(40)
	m.Put(time.Second)
	m.Get(time.Second)
	m.Fetch(time.Second)
	m.WhoHas(time.Millisecond, true)
	m.WhoHas(time.Second, false)
	m.RepairFailed()
	m.Scrubbed(1<<20, 1)
	m.HTTP("ref", 206)
}

// The names follow Prometheus conventions, as promlint checks them.
func TestMetricNamesLint(t *testing.T) {
	m := metrics.New()
	m.Watch(sources())
	exercise(m)
	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	n, err := testutil.GatherAndCount(m.Registry())
	if err != nil || n < 40 {
		t.Fatalf("%d series, %v", n, err)
	}
}

// Every metric the node exports, as documented in docs/operations.md, is
// there once each part has reported.
func TestEveryMetricIsExported(t *testing.T) {
	m := metrics.New()
	m.Watch(sources())
	exercise(m)
	for _, name := range Names {
		if c, err := testutil.GatherAndCount(m.Registry(), name); err != nil || c == 0 {
			t.Errorf("%s: %d series, %v", name, c, err)
		}
	}
}

// Names lists every emerge metric (docs/operations.md has the same list).
var Names = []string{
	"emerge_rpc_requests_total", "emerge_rpc_request_duration_seconds", "emerge_rpc_rejected_total",
	"emerge_rpc_replies_dropped_total", "emerge_block_sent_bytes_total", "emerge_block_received_bytes_total",
	"emerge_put_duration_seconds", "emerge_get_duration_seconds", "emerge_fetch_duration_seconds",
	"emerge_whohas_duration_seconds", "emerge_members", "emerge_objects_under_target", "emerge_blocks_under_target",
	"emerge_blocks_over_target", "emerge_repair_queue_blocks", "emerge_repair_copies_total", "emerge_repair_bytes_total",
	"emerge_repair_errors_total", "emerge_trimmed_copies_total", "emerge_scrub_passes_total", "emerge_scrub_blocks_total",
	"emerge_scrub_bytes_total", "emerge_scrub_errors_total", "emerge_corrupt_copies_total", "emerge_shm_capacity_bytes",
	"emerge_shm_used_bytes", "emerge_shm_objects", "emerge_shm_evictions_total", "emerge_shm_gets_total",
	"emerge_shm_puts_total", "emerge_disk_used_bytes", "emerge_store_objects", "emerge_store_blocks",
	"emerge_store_block_bytes", "emerge_uploads_open", "emerge_prefetch_jobs", "emerge_http_requests_total",
}

// The state read at scrape time, and the labels of events.
func TestValues(t *testing.T) {
	m := metrics.New()
	m.Watch(sources())
	exercise(m)
	want := `
# HELP emerge_members Members by state (alive, suspect, dead, left) as this node sees them.
# TYPE emerge_members gauge
emerge_members{state="alive"} 3
emerge_members{state="dead"} 0
emerge_members{state="left"} 0
emerge_members{state="suspect"} 1
# HELP emerge_block_sent_bytes_total Object bytes sent, to clients (rpc get_object, HTTP) or to peers (get_blocks answers, put pushes).
# TYPE emerge_block_sent_bytes_total counter
emerge_block_sent_bytes_total{remote="client"} 10
emerge_block_sent_bytes_total{remote="peer"} 30
# HELP emerge_rpc_requests_total rpc requests handled, by op and reply status.
# TYPE emerge_rpc_requests_total counter
emerge_rpc_requests_total{op="get_object",status="ok"} 1
emerge_rpc_requests_total{op="unknown",status="unknown"} 1
# HELP emerge_repair_errors_total Blocks repair gave up on: no member could take a copy.
# TYPE emerge_repair_errors_total counter
emerge_repair_errors_total 1
`
	err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "emerge_members",
		"emerge_block_sent_bytes_total", "emerge_rpc_requests_total", "emerge_repair_errors_total")
	if err != nil {
		t.Fatal(err)
	}
}

// Blocks under target appear only once a repair pass has counted them;
// the repair counters are there from the start.
func TestUnderTargetOnlyAfterAPass(t *testing.T) {
	m := metrics.New()
	var h metrics.Healing
	m.Watch(metrics.Sources{Healing: func() metrics.Healing { return h }})
	if c, _ := testutil.GatherAndCount(m.Registry(), "emerge_blocks_under_target"); c != 0 {
		t.Fatalf("%d series before any pass", c)
	}
	if c, _ := testutil.GatherAndCount(m.Registry(), "emerge_repair_bytes_total"); c != 1 {
		t.Fatalf("repair bytes: %d series", c)
	}
	h.Passed = true
	if c, _ := testutil.GatherAndCount(m.Registry(), "emerge_blocks_under_target"); c != 1 {
		t.Fatalf("%d series after a pass", c)
	}
}

// A store that fails is left out of the scrape; the rest is served.
func TestFailingSourceSpoilsNothingElse(t *testing.T) {
	m := metrics.New()
	src := sources()
	src.Store = func() (metrics.Store, error) { return metrics.Store{}, errors.New("store closed") }
	m.Watch(src)
	fams, err := m.Registry().Gather()
	if err == nil {
		t.Fatal("no error from the failing store")
	}
	for _, f := range fams {
		if f.GetName() == "emerge_members" && len(f.GetMetric()) == 4 {
			return
		}
	}
	t.Fatalf("no members in the partial scrape: %d families", len(fams))
}

// docs/operations.md documents every metric.
func TestDocsListEveryMetric(t *testing.T) {
	b, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range Names {
		if !strings.Contains(string(b), "`"+name+"`") && !strings.Contains(string(b), "`"+name+"`,") {
			t.Errorf("docs/operations.md does not list %s", name)
		}
	}
}
