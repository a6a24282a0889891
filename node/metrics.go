package node

import (
	"github.com/emerge-dev/emerge/metrics"
	"github.com/emerge-dev/emerge/registry"
)

// Metrics is the node's Prometheus instrumentation (served at /metrics on
// http_listen): its registry, for tests and tools.
func (n *Node) Metrics() *metrics.Metrics { return n.metrics }

// watchMetrics gives the metrics the node's state to read at each scrape:
// members, store, shared memory, prefetch jobs, rpc refusals.
func (n *Node) watchMetrics() {
	n.metrics.Watch(metrics.Sources{
		Members:  n.membersByState,
		Store:    n.storeMetrics,
		Shm:      n.shmMetrics,
		Prefetch: n.files.PrefetchJobs,
		RPC:      n.rpcMetrics,
		Uploads:  n.files.Uploads,
		Healing:  n.healing,
	})
}

// healing is the repair and scrub counters of the object service.
func (n *Node) healing() metrics.Healing {
	h := n.files.Health()
	return metrics.Healing{Passed: h.LastPass != 0, ObjectsUnder: h.ObjectsUnder, BlocksUnder: h.BlocksUnder,
		BlocksOver: h.BlocksOver, Queue: h.RepairQueue, RepairedCopies: h.RepairedCopies, RepairedBytes: h.RepairedBytes,
		Trimmed: h.TrimmedCopies, ScrubPasses: h.ScrubPasses, ScrubBlocks: h.ScrubChecked, CorruptCopies: h.Corrupt}
}

func (n *Node) membersByState() map[string]int {
	out := map[string]int{}
	for _, s := range []registry.State{registry.StateAlive, registry.StateSuspect, registry.StateDead, registry.StateLeft} {
		out[s.String()] = 0
	}
	for _, m := range n.members.Registry().Members() {
		out[m.State.String()]++
	}
	return out
}

func (n *Node) storeMetrics() (metrics.Store, error) {
	st, err := n.store.Stats()
	return metrics.Store{Objects: st.Objects, Blocks: st.Blocks, BlockBytes: st.BlockBytes,
		DiskBytes: st.LSMBytes + st.VlogBytes}, err
}

func (n *Node) shmMetrics() (metrics.Shm, bool) {
	i := n.shmInfo()
	if i == nil {
		return metrics.Shm{}, false
	}
	return metrics.Shm{Capacity: i.Capacity, Used: i.Used, Objects: i.Objects, Evictions: i.Evictions,
		Gets: i.Gets, Puts: i.Puts}, true
}

func (n *Node) rpcMetrics() metrics.RPC {
	st := n.server.Stats()
	bad := st.BadRequests // every refusal, busy ones included
	if bad >= st.Busy {
		bad -= st.Busy
	}
	return metrics.RPC{Busy: st.Busy, BadRequests: bad, Dropped: st.SendErrors}
}
