package metrics

import (
	"sort"

	"github.com/prometheus/client_golang/prometheus"
)

// Store is what the block store reports at a scrape.
type Store struct {
	Objects, Blocks, BlockBytes int64
	DiskBytes                   int64 // allocated by Badger's tables and value log
}

// Shm is what the shared-memory tier reports at a scrape.
type Shm struct {
	Capacity, Used int64
	Objects        int
	Evictions      uint64
	Gets, Puts     uint64 // local gets and puts answered through shared memory
}

// Healing is what the repair and scrub loops report at a scrape.
type Healing struct {
	Passed                                  bool // a repair pass has run: the target figures mean something
	ObjectsUnder, BlocksUnder, BlocksOver   int
	Queue                                   int // blocks the running repair still has to move
	RepairedCopies, RepairedBytes, Trimmed  int64
	ScrubPasses, ScrubBlocks, CorruptCopies int64
}

// RPC is what the rpc server counts outside the handlers.
type RPC struct {
	Busy, BadRequests, Dropped uint64
}

// Sources are read when Prometheus scrapes. A nil field is left out.
type Sources struct {
	Members  func() map[string]int // members by state, as this node sees them
	Store    func() (Store, error)
	Shm      func() (Shm, bool) // false: shared memory is off
	Prefetch func() map[string]int
	RPC      func() RPC
	Uploads  func() int // streamed uploads open
	Healing  func() Healing
}

// Watch registers the collector that reads s at every scrape. Call it once.
func (m *Metrics) Watch(s Sources) {
	m.reg.MustRegister(&stateCollector{m: m, src: s})
}

var (
	descMembers     = desc("emerge_members", "Members by state (alive, suspect, dead, left) as this node sees them.", "state")
	descPrefetch    = desc("emerge_prefetch_jobs", "Prefetch jobs of this node as a target, by state (running, done, failed).", "state")
	descObjUnder    = desc("emerge_objects_under_target", "Objects with a block under its target, at the last repair pass (owner copies held here).")
	descUnder       = desc("emerge_blocks_under_target", "Blocks with fewer live owner copies than their target, at the last repair pass.")
	descOver        = desc("emerge_blocks_over_target", "Blocks with more owner copies than their target, at the last repair pass.")
	descQueue       = desc("emerge_repair_queue_blocks", "Blocks the running repair still has to copy.")
	descRepCopies   = desc("emerge_repair_copies_total", "Copies repair made on other members.")
	descRepBytes    = desc("emerge_repair_bytes_total", "Block bytes repair copied to other members.")
	descTrimmed     = desc("emerge_trimmed_copies_total", "Copies above their target this node dropped.")
	descScrubPasses = desc("emerge_scrub_passes_total", "Full scrub passes over the store.")
	descScrubBlocks = desc("emerge_scrub_blocks_total", "Blocks scrub re-hashed.")
	descCorrupt     = desc("emerge_corrupt_copies_total", "Bad copies found (by scrub or by a read) and quarantined.")
	descObjects     = desc("emerge_store_objects", "Objects whose manifest this node holds.")
	descBlocks      = desc("emerge_store_blocks", "Blocks in this node's store.")
	descBlockBytes  = desc("emerge_store_block_bytes", "Bytes of the blocks in this node's store.")
	descDisk        = desc("emerge_disk_used_bytes", "Disk space the store's files take (allocated, tables and value log).")
	descUploads     = desc("emerge_uploads_open", "Streamed uploads open.")
	descShmCap      = desc("emerge_shm_capacity_bytes", "Capacity of the shared-memory tier.")
	descShmUsed     = desc("emerge_shm_used_bytes", "Bytes held in the shared-memory tier.")
	descShmObjects  = desc("emerge_shm_objects", "Objects held hot in shared memory.")
	descShmEvict    = desc("emerge_shm_evictions_total", "Objects evicted from shared memory.")
	descShmGets     = desc("emerge_shm_gets_total", "Local gets answered through shared memory.")
	descShmPuts     = desc("emerge_shm_puts_total", "Local puts sealed from shared memory.")
	descRejected    = desc("emerge_rpc_rejected_total", "rpc requests refused before a handler ran, by reason (busy, bad_request).", "reason")
	descReplyDrop   = desc("emerge_rpc_replies_dropped_total", "rpc replies dropped because the peer was gone or not reading.")
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

// stateCollector turns Sources into metrics at scrape time.
type stateCollector struct {
	m   *Metrics
	src Sources
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descMembers, descPrefetch, descObjUnder, descUnder, descOver, descQueue,
		descRepCopies, descRepBytes, descTrimmed, descScrubPasses, descScrubBlocks, descCorrupt, descObjects, descBlocks,
		descBlockBytes, descDisk, descUploads, descShmCap, descShmUsed, descShmObjects, descShmEvict, descShmGets,
		descShmPuts, descRejected, descReplyDrop} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	if c.src.Members != nil {
		byLabel(ch, descMembers, c.src.Members())
	}
	if c.src.Prefetch != nil {
		byLabel(ch, descPrefetch, c.src.Prefetch())
	}
	if c.src.Uploads != nil {
		gauge(ch, descUploads, float64(c.src.Uploads()))
	}
	c.collectStore(ch)
	c.collectShm(ch)
	c.collectRPC(ch)
	c.collectHealing(ch)
}

func (c *stateCollector) collectHealing(ch chan<- prometheus.Metric) {
	if c.src.Healing == nil {
		return
	}
	h := c.src.Healing()
	if h.Passed {
		gauge(ch, descObjUnder, float64(h.ObjectsUnder))
		gauge(ch, descUnder, float64(h.BlocksUnder))
		gauge(ch, descOver, float64(h.BlocksOver))
	}
	gauge(ch, descQueue, float64(h.Queue))
	counter(ch, descRepCopies, float64(h.RepairedCopies))
	counter(ch, descRepBytes, float64(h.RepairedBytes))
	counter(ch, descTrimmed, float64(h.Trimmed))
	counter(ch, descScrubPasses, float64(h.ScrubPasses))
	counter(ch, descScrubBlocks, float64(h.ScrubBlocks))
	counter(ch, descCorrupt, float64(h.CorruptCopies))
}

func (c *stateCollector) collectStore(ch chan<- prometheus.Metric) {
	if c.src.Store == nil {
		return
	}
	st, err := c.src.Store()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descDisk, err)
		return
	}
	gauge(ch, descObjects, float64(st.Objects))
	gauge(ch, descBlocks, float64(st.Blocks))
	gauge(ch, descBlockBytes, float64(st.BlockBytes))
	gauge(ch, descDisk, float64(st.DiskBytes))
}

func (c *stateCollector) collectShm(ch chan<- prometheus.Metric) {
	if c.src.Shm == nil {
		return
	}
	st, ok := c.src.Shm()
	if !ok {
		return
	}
	gauge(ch, descShmCap, float64(st.Capacity))
	gauge(ch, descShmUsed, float64(st.Used))
	gauge(ch, descShmObjects, float64(st.Objects))
	counter(ch, descShmEvict, float64(st.Evictions))
	counter(ch, descShmGets, float64(st.Gets))
	counter(ch, descShmPuts, float64(st.Puts))
}

func (c *stateCollector) collectRPC(ch chan<- prometheus.Metric) {
	if c.src.RPC == nil {
		return
	}
	st := c.src.RPC()
	counter(ch, descRejected, float64(st.Busy), "busy")
	counter(ch, descRejected, float64(st.BadRequests), "bad_request")
	counter(ch, descReplyDrop, float64(st.Dropped))
}

// byLabel sends one gauge per label value, in a stable order.
func byLabel(ch chan<- prometheus.Metric, d *prometheus.Desc, counts map[string]int) {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		gauge(ch, d, float64(counts[k]), k)
	}
}

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func counter(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
}
