package rpc

// Inline handlers.
//
// A request normally crosses two goroutine hand-offs on the server: the
// socket owner hands it to a worker, and the worker hands the reply back to
// the owner. On a small machine each hand-off can wake a thread (tens of µs
// when the cores are busy), which is most of a small round trip. A handler
// that never blocks — it answers from memory, takes no lock that is held
// across I/O, makes no network call and waits for nothing — can run on the
// owner goroutine itself: the reply is sent in the same round that read the
// request. Admission is unchanged (the request takes its slot and gives it
// back when the reply leaves), so the fairness caps hold. A slow inline
// handler stalls every connection of the server: register only what is
// cheap.

// Inliner is implemented by a Handler that serves some requests without
// blocking. Inline reports whether req is one of them; the server then calls
// Serve on its socket owner goroutine. A Mux is an Inliner (HandleInline).
type Inliner interface {
	Inline(req *Message) bool
}

// HandleInline registers f for op as Handle does, and declares that f never
// blocks (see Inliner): the server runs it on its socket owner goroutine.
func (m *Mux) HandleInline(op Op, f HandlerFunc) {
	m.handlers[op] = f
	if m.inline == nil {
		m.inline = make(map[Op]bool)
	}
	m.inline[op] = true
}

// Inline reports whether req's op was registered with HandleInline.
func (m *Mux) Inline(req *Message) bool { return m.inline[req.Op] }

// inline reports whether the server's handler serves m on the owner.
func (s *Server) inline(m *Message) bool {
	in, ok := s.cfg.Handler.(Inliner)
	return ok && in.Inline(m)
}

// serveInline answers m on the owner goroutine; its slot is taken and is
// released when the reply leaves, as for a worker's reply.
func (s *Server) serveInline(rid []byte, m *Message) {
	s.inflight.Add(1)
	o := s.answer(rid, m)
	if !s.offer(&o) {
		s.pending = append(s.pending, o)
	}
}
