package rpc

import "time"

// observe reports a handled request to ServerConfig.Observe, when set.
func (s *Server) observe(op Op, err error, start time.Time) {
	if s.cfg.Observe == nil {
		return
	}
	st := StatusOK
	if err != nil {
		st = StatusOf(err)
	}
	s.cfg.Observe(op, st, time.Since(start))
}
