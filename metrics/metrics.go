package metrics

import (
	"net/http"
	"strings"
	"time"

	"github.com/emerge-dev/emerge/rpc"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Histogram buckets, in seconds.
var (
	rpcBuckets    = prometheus.ExponentialBuckets(50e-6, 4, 10) // 50 µs .. 13 s
	objectBuckets = prometheus.ExponentialBuckets(1e-3, 4, 10)  // 1 ms .. 262 s
	whoHasBuckets = prometheus.ExponentialBuckets(5e-4, 3, 11)  // 0.5 ms .. 30 s
)

// Metrics holds one node's registry and the metrics its parts report to.
// Its methods are safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	rpcRequests *prometheus.CounterVec
	rpcDuration *prometheus.HistogramVec
	ops         [256]string // label of each op byte
	statuses    [256]string // label of each status byte

	sent, received prometheus.Counter // block bytes to and from clients
	peerSent       prometheus.Counter
	peerReceived   prometheus.Counter

	put, get, fetch prometheus.Histogram
	whoHasFound     prometheus.Observer
	whoHasNone      prometheus.Observer

	repairErrors            prometheus.Counter
	scrubBytes, scrubErrors prometheus.Counter

	http *prometheus.CounterVec
}

// New makes a registry with the Go runtime and process collectors and
// every emerge metric. Watch adds the state read at scrape time.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.newRPC()
	m.newBlocks()
	m.newDurations()
	m.newHealing()
	m.http = m.counterVec("emerge_http_requests_total",
		"HTTP requests answered, by interface (ref, s3, metrics, health) and status class (2xx..5xx).", "api", "code")
	return m
}

func (m *Metrics) newRPC() {
	m.rpcRequests = m.counterVec("emerge_rpc_requests_total",
		"rpc requests handled, by op and reply status.", "op", "status")
	m.rpcDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "emerge_rpc_request_duration_seconds",
		Help: "Time handlers took to answer rpc requests, by op.", Buckets: rpcBuckets}, []string{"op"})
	m.reg.MustRegister(m.rpcDuration)
	for i := range m.ops {
		m.ops[i] = label(rpc.Op(i).String(), "op(")
		m.statuses[i] = label(rpc.Status(i).String(), "status(")
	}
}

// label is s, or "unknown" for the placeholder name of an unknown number.
func label(s, unknownPrefix string) string {
	if strings.HasPrefix(s, unknownPrefix) {
		return "unknown"
	}
	return s
}

func (m *Metrics) newBlocks() {
	sent := m.counterVec("emerge_block_sent_bytes_total",
		"Object bytes sent, to clients (rpc get_object, HTTP) or to peers (get_blocks answers, put pushes).", "remote")
	recv := m.counterVec("emerge_block_received_bytes_total",
		"Object bytes received, from clients (rpc puts, HTTP) or from peers (pulls, pushes taken).", "remote")
	m.sent, m.peerSent = sent.WithLabelValues("client"), sent.WithLabelValues("peer")
	m.received, m.peerReceived = recv.WithLabelValues("client"), recv.WithLabelValues("peer")
}

func (m *Metrics) newDurations() {
	m.put = m.histogram("emerge_put_duration_seconds", "Time puts took, from opening the upload to the commit.")
	m.get = m.histogram("emerge_get_duration_seconds",
		"Time whole-object HTTP GETs took, to the last byte (an rpc get is many get_object requests: see emerge_rpc_request_duration_seconds).")
	m.fetch = m.histogram("emerge_fetch_duration_seconds", "Time fetches of an object's missing blocks from peers took.")
	wh := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "emerge_whohas_duration_seconds",
		Help:    "Time who-has lookups took: to the first answer (result found), or until they gave up (result none).",
		Buckets: whoHasBuckets}, []string{"result"})
	m.reg.MustRegister(wh)
	m.whoHasFound, m.whoHasNone = wh.WithLabelValues("found"), wh.WithLabelValues("none")
}

func (m *Metrics) newHealing() {
	m.repairErrors = m.counter("emerge_repair_errors_total", "Blocks repair gave up on: no member could take a copy.")
	m.scrubBytes = m.counter("emerge_scrub_bytes_total", "Block bytes scrub read back and re-hashed.")
	m.scrubErrors = m.counter("emerge_scrub_errors_total", "Bad copies scrub found (and the store quarantined).")
}

func (m *Metrics) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	m.reg.MustRegister(c)
	return c
}

func (m *Metrics) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	m.reg.MustRegister(c)
	return c
}

func (m *Metrics) histogram(name, help string) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: objectBuckets})
	m.reg.MustRegister(h)
	return h
}

// Registry is the node's registry (tests lint and read it).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format. A source that
// fails is left out of that scrape, not the whole answer.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// ObserveRPC is the rpc server's Observe hook.
func (m *Metrics) ObserveRPC(op rpc.Op, st rpc.Status, d time.Duration) {
	o := m.ops[op]
	m.rpcRequests.WithLabelValues(o, m.statuses[st]).Inc()
	m.rpcDuration.WithLabelValues(o).Observe(d.Seconds())
}

// ClientSent counts object bytes sent to a client.
func (m *Metrics) ClientSent(n int) { m.sent.Add(float64(n)) }

// ClientReceived counts object bytes received from a client.
func (m *Metrics) ClientReceived(n int) { m.received.Add(float64(n)) }

// PeerSent counts block bytes sent to another member (files.Metrics).
func (m *Metrics) PeerSent(n int) { m.peerSent.Add(float64(n)) }

// PeerReceived counts block bytes received from another member (files.Metrics).
func (m *Metrics) PeerReceived(n int) { m.peerReceived.Add(float64(n)) }

// Put records a put's duration (files.Metrics).
func (m *Metrics) Put(d time.Duration) { m.put.Observe(d.Seconds()) }

// Get records a whole-object read's duration.
func (m *Metrics) Get(d time.Duration) { m.get.Observe(d.Seconds()) }

// Fetch records a fetch's duration (files.Metrics).
func (m *Metrics) Fetch(d time.Duration) { m.fetch.Observe(d.Seconds()) }

// WhoHas records a who-has lookup's duration (files.Metrics).
func (m *Metrics) WhoHas(d time.Duration, found bool) {
	if found {
		m.whoHasFound.Observe(d.Seconds())
		return
	}
	m.whoHasNone.Observe(d.Seconds())
}

// RepairFailed counts a block repair gave up on (files.Metrics).
func (m *Metrics) RepairFailed() { m.repairErrors.Inc() }

// Scrubbed counts the bytes of a batch of blocks scrub re-hashed and the
// bad copies it found among them (files.Metrics).
func (m *Metrics) Scrubbed(bytes int64, bad int) {
	m.scrubBytes.Add(float64(bytes))
	m.scrubErrors.Add(float64(bad))
}

// HTTP counts an HTTP request answered by api (ref, s3, metrics, health)
// with status code.
func (m *Metrics) HTTP(api string, code int) {
	m.http.WithLabelValues(api, codeClass(code)).Inc()
}

func codeClass(code int) string {
	switch {
	case code < 200:
		return "1xx"
	case code < 300:
		return "2xx"
	case code < 400:
		return "3xx"
	case code < 500:
		return "4xx"
	}
	return "5xx"
}
