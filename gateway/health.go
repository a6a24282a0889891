package gateway

import (
	"fmt"
	"io"
	"net/http"
)

// healthz answers while the process serves HTTP: a liveness probe.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	s.cfg.Observer.HTTP("health", http.StatusOK)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok\n")
}

// readyz answers 200 once the node can take requests: its store is open and
// it has joined its members; 503 with the reason before.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Ready != nil {
		if err := s.cfg.Ready(); err != nil {
			s.cfg.Observer.HTTP("health", http.StatusServiceUnavailable)
			fail(w, http.StatusServiceUnavailable, fmt.Errorf("not ready: %w", err))
			return
		}
	}
	s.cfg.Observer.HTTP("health", http.StatusOK)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ready\n")
}

// metrics serves the node's registry.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Metrics == nil {
		http.NotFound(w, r)
		return
	}
	s.cfg.Observer.HTTP("metrics", http.StatusOK)
	s.cfg.Metrics.ServeHTTP(w, r)
}
