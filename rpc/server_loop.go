package rpc

import (
	"fmt"
	"syscall"
	"time"

	zmq "github.com/pebbe/zmq4"
)

// How long the owner keeps retrying a reply the socket refuses: a peer whose
// pipe stays full (EAGAIN) is connected but not reading; EHOSTUNREACH past a
// moment means the peer is gone (its calls failed when it disconnected).
const (
	keepFull    = 30 * time.Second
	keepUnreach = 5 * time.Second
	retryFirst  = time.Millisecond
	retryMax    = 100 * time.Millisecond
)

// loop is the only goroutine calling into s.router. It sleeps in the
// netpoller on the router's descriptor (sleep.go); handlers wake it when
// they queue a reply, Close when it quits, and a deadline when replies the
// socket refused are due for another try.
func (s *Server) loop() {
	defer close(s.done)
	defer s.router.Close()
	defer s.sleep.close()
	backoff := retryFirst
	// The first round also reads what was queued before the first wait,
	// which no descriptor edge would announce.
	err := s.sleep.Run(func() (time.Time, bool) {
		s.round()
		select {
		case <-s.quit:
			s.shutdown()
			return time.Time{}, true
		default:
		}
		if len(s.pending) == 0 {
			backoff = retryFirst
			return time.Time{}, false
		}
		until := time.Now().Add(backoff)
		backoff = min(2*backoff, retryMax)
		return until, false
	})
	if err != nil {
		s.log.Error().Err(err).Msg("rpc server: waiting for the socket failed")
		<-s.quit // nothing can wake us: answer nobody until Close
		s.shutdown()
	}
}

// round sends the replies it can and dispatches every request that has
// arrived. Its last call into the socket processes every command queued for
// it (a receive that ends in EAGAIN, or ZMQ_EVENTS), so nothing is left that
// would not signal the watcher again. Replies the socket refuses stay pending;
// the command that gives their pipe room again wakes the owner, and a timer
// backs that up.
func (s *Server) round() {
	for {
		s.takeReplies()
		s.flush()
		if s.receive() == recvBatch {
			continue
		}
		if len(s.pending) == 0 {
			return
		}
		if s.flush() > 0 { // the receive may have given a pipe room
			continue // and sends may have processed commands: look again
		}
		if ev, err := s.router.GetEvents(); err != nil || ev&zmq.POLLIN == 0 {
			return
		}
	}
}

// takeReplies moves replies from handlers to the pending list.
func (s *Server) takeReplies() {
	for {
		select {
		case o := <-s.out:
			s.pending = append(s.pending, o)
		default:
			return
		}
	}
}

// flush offers every pending reply to the socket and returns how many left
// the list (sent or dropped).
func (s *Server) flush() int {
	kept := s.pending[:0]
	for _, o := range s.pending {
		if !s.offer(&o) {
			kept = append(kept, o)
		}
	}
	n := len(s.pending) - len(kept)
	clear(s.pending[len(kept):])
	s.pending = kept
	return n
}

// offer tries to send o and reports whether it is done with: sent, or
// dropped because the socket refused it for too long or for good.
func (s *Server) offer(o *outgoing) bool {
	n, err := sendFrames(s.router, o.rid, o.head, o.data)
	if err == nil {
		s.finish(o, true)
		return true
	}
	if n == 0 && isRefused(err) {
		now := time.Now()
		if o.since.IsZero() {
			o.since = now
		}
		keep := keepFull
		if zmq.AsErrno(err) == zmq.Errno(syscall.EHOSTUNREACH) {
			keep = keepUnreach
		}
		if now.Sub(o.since) < keep {
			return false
		}
	}
	s.rejLog.Debug().Err(err).Msg("rpc reply dropped: peer gone or not reading (sampled)")
	s.finish(o, false)
	return true
}

// finish releases what a reply holds once the socket took it or it was
// dropped.
func (s *Server) finish(o *outgoing, sent bool) {
	if o.done != nil {
		o.done()
	}
	if o.slot {
		s.inflight.Add(-1)
		s.admit.done(o.rid, o.control)
		s.startQueued()
	}
	if o.held {
		s.rejected--
	}
	if sent {
		s.nRep.Add(1)
	} else {
		s.nSendErr.Add(1)
	}
}

// shutdown sends what the socket takes at once and drops the rest.
func (s *Server) shutdown() {
	s.takeReplies()
	s.flush()
	for i := range s.pending {
		s.finish(&s.pending[i], false)
	}
	s.pending = nil
	s.admit.drain() // nobody reads replies any more
}

// receive dispatches up to recvBatch requests without blocking and returns
// how many it read.
func (s *Server) receive() int {
	for i := 0; i < recvBatch; i++ {
		frames, user, err := s.recvMessage()
		if err != nil {
			if !isAgain(err) && !isRetry(err) {
				s.log.Debug().Err(err).Msg("rpc receive")
			}
			return i
		}
		s.nReq.Add(1)
		s.dispatch(frames, user)
	}
	return recvBatch
}

// recvMessage reads one message without blocking. Under CURVE it also
// returns the sender's key: the User-Id the ZAP handler gave its connection.
func (s *Server) recvMessage() (frames [][]byte, user string, err error) {
	if s.cfg.Curve == nil {
		frames, err = s.router.RecvMessageBytes(zmq.DONTWAIT)
		return frames, "", err
	}
	rid, err := s.router.RecvBytes(zmq.DONTWAIT) // made by the ROUTER: no metadata
	if err != nil {
		return nil, "", err
	}
	frames = [][]byte{rid}
	for more, _ := s.router.GetRcvmore(); more; more, _ = s.router.GetRcvmore() {
		var f []byte
		if len(frames) == 1 {
			var md map[string]string
			f, md, err = s.router.RecvBytesWithMetadata(zmq.DONTWAIT, "User-Id")
			user = md["User-Id"]
		} else {
			f, err = s.router.RecvBytes(zmq.DONTWAIT)
		}
		if err != nil {
			return nil, "", err
		}
		frames = append(frames, f)
	}
	return frames, user, nil
}

func (s *Server) dispatch(frames [][]byte, user string) {
	rid := frames[0]
	if s.cfg.Curve != nil && !s.cfg.Curve.Allow.Allowed(user) {
		m, _ := ParseFrames(frames[min(2, len(frames)):], s.cfg.Limits)
		if m == nil {
			m = &Message{}
		}
		s.reject(rid, m, Errorf(ErrDenied, "key %s is not allowed on this node", user))
		return
	}
	if len(frames) < 2 || len(frames[1]) != 0 {
		s.reject(rid, &Message{}, fmt.Errorf("%w: missing empty delimiter frame", ErrBadRequest))
		return
	}
	m, err := ParseFrames(frames[2:], s.cfg.Limits)
	if err != nil {
		if m == nil {
			m = &Message{}
		}
		s.reject(rid, m, err)
		return
	}
	s.admitOne(rid, m)
}

// admitOne runs, queues or refuses a parsed request (see admit.go).
func (s *Server) admitOne(rid []byte, m *Message) {
	switch s.admit.admit(rid, m) {
	case runNow:
		if s.inline(m) {
			s.serveInline(rid, m)
		} else if !s.spawn(rid, m) {
			s.reject(rid, m, Errorf(ErrUnavailable, "server closing"))
		}
	case refused:
		s.nBusy.Add(1)
		s.reject(rid, m, s.busyError(rid, m))
	}
}

func (s *Server) busyError(rid []byte, m *Message) error {
	if c := s.admit.conns[string(rid)]; c != nil && !m.Op.Control() && len(c.queue) >= s.cfg.MaxQueued {
		return Errorf(ErrUnavailable, "node busy: this connection has %d requests running and %d queued", c.data, len(c.queue))
	}
	return Errorf(ErrUnavailable, "node busy: %d requests in flight", s.inflight.Load())
}

// startQueued starts the queued requests that have a slot now. It runs
// while flush walks the pending list, so it never answers itself: a request
// that cannot start because the server is closing is dropped with the rest
// of the queue (its client's connection is going away).
func (s *Server) startQueued() {
	for {
		j, ok := s.admit.next()
		if !ok || !s.spawn(j.rid, j.m) {
			return
		}
	}
}

// reject answers directly from the owner goroutine. A refused rejection is
// kept for retry like any reply, but at most MaxInflight of them, so a peer
// that floods without reading cannot make the list grow.
func (s *Server) reject(rid []byte, m *Message, err error) {
	s.nBad.Add(1)
	s.rejLog.Debug().Err(err).Uint64("id", m.ID).Msg("rpc request rejected (sampled)")
	head, _ := encodeHeader(errorBody(err), m.Op, m.ID)
	o := outgoing{rid: rid, head: head}
	if s.rejected >= s.cfg.MaxInflight {
		o.since = time.Now().Add(-keepFull) // one try only
	}
	if !s.offer(&o) {
		o.held = true
		s.rejected++
		s.pending = append(s.pending, o)
	}
}
