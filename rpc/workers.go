package rpc

// Handler goroutines are reused. A request's handler used to run on a new
// goroutine, which starts with a small stack: a handler that reads Badger
// and hashes (BLAKE3 keeps a large frame) grew it by copying several times
// on every request, about 8% of the CPU of 4 KiB gets with 50 callers. A
// worker that finishes a request now waits for the next one, its stack
// already grown; at most maxIdleWorkers wait, the others end.

// maxIdleWorkers caps the goroutines kept waiting for requests.
const maxIdleWorkers = 64

// run hands j to an idle worker, or starts one. Called by the owner with
// j's slot taken and handlers.Add done.
func (s *Server) run(j job) {
	select {
	case s.work <- j:
	default:
		s.workers.Add(1)
		go s.worker(j)
	}
}

// worker serves j, then the requests handed to it while it waits, until
// enough others are idle or the server closes.
func (s *Server) worker(j job) {
	defer s.workers.Done()
	for {
		s.handle(j.rid, j.m)
		if s.idle.Add(1) > maxIdleWorkers {
			s.idle.Add(-1)
			return
		}
		select {
		case j = <-s.work:
			s.idle.Add(-1)
		case <-s.stopWorkers:
			s.idle.Add(-1)
			return
		}
	}
}
