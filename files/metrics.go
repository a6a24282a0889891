package files

import "time"

// Metrics receives what the object service measures as it works. The node
// passes one backed by its Prometheus registry (package metrics); a nil
// Config.Metrics records nothing. Every method is called on the goroutine
// that did the work, so it must be cheap and safe for concurrent use.
//
// What repair and scrub keep count of themselves (Health) is read at
// scrape time; to report a new event, add a method here and to
// nopMetrics, and implement it in package metrics.
type Metrics interface {
	// PeerSent counts block bytes sent to another member (get_blocks
	// answers and put pushes).
	PeerSent(n int)
	// PeerReceived counts block bytes received from another member (pulls
	// and pushes taken).
	PeerReceived(n int)
	// Put is the time a put took, from opening its upload to its commit.
	Put(d time.Duration)
	// Fetch is the time a fetch took to bring an object's missing blocks
	// from peers (fetches that end because their readers left are not
	// reported).
	Fetch(d time.Duration)
	// WhoHas is the time a who-has took: to its first answer when found,
	// else until it gave up.
	WhoHas(d time.Duration, found bool)
	// RepairFailed counts a block repair gave up on.
	RepairFailed()
	// Scrubbed counts the bytes of a batch scrub re-hashed and the bad
	// copies it found in it.
	Scrubbed(bytes int64, bad int)
}

type nopMetrics struct{}

func (nopMetrics) PeerSent(int)               {}
func (nopMetrics) PeerReceived(int)           {}
func (nopMetrics) Put(time.Duration)          {}
func (nopMetrics) Fetch(time.Duration)        {}
func (nopMetrics) WhoHas(time.Duration, bool) {}
func (nopMetrics) RepairFailed()              {}
func (nopMetrics) Scrubbed(int64, int)        {}

// PrefetchJobs counts this node's prefetch jobs (as a target) by state:
// running, done or failed.
func (s *Service) PrefetchJobs() map[string]int {
	s.pf.mu.Lock()
	jobs := make([]*job, 0, len(s.pf.jobs))
	for _, j := range s.pf.jobs {
		jobs = append(jobs, j)
	}
	s.pf.mu.Unlock()
	out := map[string]int{StateRunning: 0, StateDone: 0, StateFailed: 0}
	for _, j := range jobs {
		j.mu.Lock()
		out[j.state]++
		j.mu.Unlock()
	}
	return out
}

// observeWhoHas reports a finished who-has started at start.
func (s *Service) observeWhoHas(q *query, start time.Time) {
	q.mu.Lock()
	first := q.first
	q.mu.Unlock()
	if first.IsZero() {
		s.cfg.Metrics.WhoHas(time.Since(start), false)
		return
	}
	s.cfg.Metrics.WhoHas(first.Sub(start), true)
}

func frameBytes(data [][]byte) int {
	n := 0
	for _, d := range data {
		n += len(d)
	}
	return n
}
