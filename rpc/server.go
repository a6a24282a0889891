package rpc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emerge-dev/emerge/internal/curve"
	zmq "github.com/pebbe/zmq4"
	"github.com/rs/zerolog"
)

// Handler serves one request on its own goroutine; it may block. The request's
// data frames belong to the handler. A returned error becomes a status reply
// (StatusOf maps it).
type Handler interface {
	Serve(ctx context.Context, req *Message) (*Reply, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, req *Message) (*Reply, error)

// Serve calls f.
func (f HandlerFunc) Serve(ctx context.Context, req *Message) (*Reply, error) { return f(ctx, req) }

// Reply is a handler's answer. Done, when set, runs once the frames have been
// handed to ZeroMQ (which copies them), so pooled buffers can be reused.
type Reply struct {
	Body Body
	Data [][]byte
	Done func()
}

// Mux dispatches requests by op.
type Mux struct {
	handlers map[Op]HandlerFunc
	inline   map[Op]bool // ops whose handler never blocks (inline.go)
}

// NewMux returns an empty mux.
func NewMux() *Mux { return &Mux{handlers: make(map[Op]HandlerFunc)} }

// Handle registers f for op. It must be called before the server starts.
func (m *Mux) Handle(op Op, f HandlerFunc) { m.handlers[op] = f }

// Serve dispatches; unknown ops get StatusUnsupported.
func (m *Mux) Serve(ctx context.Context, req *Message) (*Reply, error) {
	f, ok := m.handlers[req.Op]
	if !ok {
		return nil, Errorf(ErrUnsupported, "unknown op %d", uint8(req.Op))
	}
	return f(ctx, req)
}

// ZAPDomain is the ZAP domain of the ROUTER (and of the bus's XPUB).
const ZAPDomain = "emerge"

// ServerConfig configures a Server. Zero values mean defaults.
type ServerConfig struct {
	Context     *zmq.Context // required: the node's ZeroMQ context
	Listen      string       // endpoint to bind; port "*" picks a free one
	Handler     Handler      // required
	MaxInflight int          // concurrent requests (default 512); see admit.go
	// Reserved is how many of MaxInflight only control ops (Op.Control) may
	// use (default MaxInflight/16, at least 1).
	Reserved int
	// MaxPerConn caps the data ops one connection (a DEALER) has running
	// (default MaxInflight/8, at least 1); more wait in its queue.
	MaxPerConn int
	// MaxQueued caps the requests waiting in one connection's queue (default
	// 4*MaxPerConn; negative: no queue). Beyond it, and beyond QueueBytes of
	// queued messages in all, requests get StatusUnavailable at once.
	MaxQueued  int
	QueueBytes int64          // default 256 MiB
	SendHWM    int            // ROUTER send high-water mark in messages (default 1024)
	RecvHWM    int            // ROUTER receive high-water mark (default 1024)
	Limits     Limits         // caps on what peers send
	Logger     zerolog.Logger // default: silent
	// Curve, when set, makes the ROUTER a CURVE server: traffic is
	// encrypted, the context's ZAP handler decides who connects, and every
	// request is checked against Curve.Allow again (a key removed from it
	// fails at its next request). Nil: plaintext.
	Curve *curve.Server
	// Observe, when set, is called after each handled request with its op,
	// the status of its reply and the handler's time (for metrics).
	Observe func(op Op, status Status, d time.Duration)
}

// ServerStats counts what a server has seen.
type ServerStats struct {
	Requests, Replies, BadRequests, Busy, SendErrors uint64
}

// Server is a ROUTER socket that dispatches each request to the Handler on
// its own goroutine. One goroutine (loop) owns the socket.
type Server struct {
	cfg      ServerConfig
	log      zerolog.Logger
	rejLog   zerolog.Logger // sampled: a flood of junk must not become a flood of log lines
	router   *zmq.Socket
	sleep    *sleeper // where the owner waits (sleep.go)
	endpoint string

	ctx    context.Context
	cancel context.CancelFunc
	out    chan outgoing // replies from handlers to the owner
	quit   chan struct{}
	done   chan struct{}

	// Owned by the loop goroutine: replies not yet accepted by the socket,
	// and how many of them are rejections (which hold no inflight slot).
	pending  []outgoing
	rejected int
	admit    *admitter

	mu       sync.Mutex // guards closing and handlers.Add
	closing  bool
	handlers sync.WaitGroup
	inflight atomic.Int64
	once     sync.Once

	// Handler goroutines are kept for reuse (workers.go).
	work        chan job      // to an idle worker
	idle        atomic.Int32  // workers waiting on work
	stopWorkers chan struct{} // closed by Close once no handler runs
	workers     sync.WaitGroup

	nReq, nRep, nBad, nBusy, nSendErr atomic.Uint64
}

type outgoing struct {
	rid, head []byte
	data      [][]byte
	done      func()
	slot      bool      // holds an inflight slot until sent or dropped
	control   bool      // the slot is a control op's
	held      bool      // a rejection counted in Server.rejected
	since     time.Time // first refusal by the socket; zero until then
}

// NewServer binds the ROUTER socket and starts serving.
func NewServer(cfg ServerConfig) (*Server, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, quit: make(chan struct{}), done: make(chan struct{}),
		work: make(chan job), stopWorkers: make(chan struct{})}
	s.rejLog = cfg.Logger.Sample(&zerolog.BurstSampler{Burst: 20, Period: time.Second})
	s.out = make(chan outgoing, cfg.MaxInflight+1)
	s.admit = newAdmitter(cfg.admitLimits())
	if err := s.bind(); err != nil {
		return nil, err
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	go s.loop()
	return s, nil
}

func (c *ServerConfig) fill() error {
	if c.Context == nil || c.Handler == nil || c.Listen == "" {
		return errors.New("rpc server: Context, Handler and Listen are required")
	}
	if c.MaxInflight <= 0 {
		c.MaxInflight = 512
	}
	if c.SendHWM <= 0 {
		c.SendHWM = 1024
	}
	if c.RecvHWM <= 0 {
		c.RecvHWM = 1024
	}
	c.Limits.fill()
	c.fillAdmission()
	return nil
}

func (c *ServerConfig) fillAdmission() {
	if c.Reserved <= 0 {
		c.Reserved = max(1, c.MaxInflight/16)
	}
	if c.MaxInflight > 1 {
		c.Reserved = min(c.Reserved, c.MaxInflight-1)
	} else {
		c.Reserved = 0 // one slot: shared
	}
	if c.MaxPerConn <= 0 {
		c.MaxPerConn = max(1, c.MaxInflight/8)
	}
	switch {
	case c.MaxQueued == 0:
		c.MaxQueued = 4 * c.MaxPerConn
	case c.MaxQueued < 0:
		c.MaxQueued = 0
	}
	if c.QueueBytes <= 0 {
		c.QueueBytes = 256 << 20
	}
}

func (c *ServerConfig) admitLimits() admitLimits {
	return admitLimits{maxAll: c.MaxInflight, maxData: c.MaxInflight - c.Reserved,
		perConn: c.MaxPerConn, perCtl: max(1, min(8, c.Reserved)),
		maxQueued: c.MaxQueued, queueBytes: c.QueueBytes}
}

func (s *Server) bind() error {
	r, err := newSocket(s.cfg.Context, zmq.ROUTER)
	if err != nil {
		return err
	}
	err = errors.Join(r.SetRouterMandatory(1), r.SetSndhwm(s.cfg.SendHWM), r.SetRcvhwm(s.cfg.RecvHWM), r.SetZapDomain(ZAPDomain),
		r.SetMaxmsgsize(int64(2*s.cfg.Limits.MaxFrame)))
	// A ZAP domain makes libzmq refuse ZMTP 1.0/2.0 peers: without it, random
	// bytes on the port parse as ZMTP 1.0 frames and become junk requests.
	if err == nil && s.cfg.Curve != nil {
		err = s.cfg.Curve.Apply(r)
	}
	if err == nil {
		err = r.Bind(s.cfg.Listen)
	}
	if err == nil {
		s.endpoint, err = r.GetLastEndpoint()
	}
	if err == nil {
		s.sleep, err = newSleeper(r)
	}
	if err != nil {
		r.Close()
		return fmt.Errorf("rpc server: listen %s: %w", s.cfg.Listen, err)
	}
	s.router = r
	return nil
}

// Endpoint is the bound endpoint, with the port resolved.
func (s *Server) Endpoint() string { return s.endpoint }

// Stats returns the server's counters.
func (s *Server) Stats() ServerStats {
	return ServerStats{s.nReq.Load(), s.nRep.Load(), s.nBad.Load(), s.nBusy.Load(), s.nSendErr.Load()}
}

// Close stops accepting work, cancels running handlers, waits for them and
// for the socket owner, then closes the socket. Safe to call twice.
func (s *Server) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		s.closing = true
		s.mu.Unlock()
		s.cancel()
		s.handlers.Wait()
		close(s.stopWorkers)
		s.workers.Wait()
		close(s.quit)
		s.sleep.Wake()
		<-s.done
	})
	return nil
}

// spawn starts a handler for a request whose slot the admitter gave; it
// reports false, the slot returned, when the server is closing.
func (s *Server) spawn(rid []byte, m *Message) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		s.admit.done(rid, m.Op.Control())
		return false
	}
	s.inflight.Add(1)
	s.handlers.Add(1)
	s.run(job{rid: rid, m: m})
	return true
}

// handle serves one request; its inflight slot travels with the reply and
// is released by the owner once the socket has taken the reply.
func (s *Server) handle(rid []byte, m *Message) {
	defer s.handlers.Done()
	s.out <- s.answer(rid, m)
	s.sleep.Wake()
}

// answer runs the handler for m and makes its reply, which holds m's slot.
func (s *Server) answer(rid []byte, m *Message) outgoing {
	start := time.Now()
	rep, err := s.serve(m)
	s.observe(m.Op, err, start)
	var o outgoing
	if err != nil {
		o.head, _ = encodeHeader(errorBody(err), m.Op, m.ID)
		if rep != nil && rep.Done != nil {
			rep.Done()
		}
	} else {
		o, err = replyFrames(rep, m)
		if err != nil {
			o.head, _ = encodeHeader(errorBody(err), m.Op, m.ID)
		}
	}
	o.rid, o.slot, o.control = rid, true, m.Op.Control()
	return o
}

// serve runs the handler, turning a panic into an internal error.
func (s *Server) serve(m *Message) (rep *Reply, err error) {
	return serveRecovered(s.ctx, s.cfg.Handler, m, s.log)
}

func replyFrames(rep *Reply, m *Message) (outgoing, error) {
	if rep == nil {
		rep = &Reply{}
	}
	body := rep.Body
	if body == nil {
		body = &Header{}
	}
	head, err := encodeHeader(body, m.Op, m.ID)
	if err != nil {
		if rep.Done != nil {
			rep.Done()
		}
		return outgoing{}, fmt.Errorf("%w: encode reply: %v", ErrRemote, err)
	}
	return outgoing{head: head, data: rep.Data, done: rep.Done}, nil
}

func errorBody(err error) *Header {
	return &Header{Status: StatusOf(err), Msg: oneLine(err.Error())}
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 1024 {
		s = s[:1021] + "..."
	}
	return s
}
