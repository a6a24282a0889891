package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/files"
	"github.com/emerge-dev/emerge/internal/bufpool"
	"github.com/rs/zerolog"
)

// ErrListen marks a failure to bind the HTTP endpoint.
var ErrListen = errors.New("http listen")

// Objects is what the gateway needs of the node's object service.
// *files.Service has these methods; the node wraps them so that puts and
// deletes also update its shared-memory hot copies.
type Objects interface {
	// Manifest returns an object's manifest, from this node or a member.
	Manifest(ctx context.Context, ref blocks.Ref) (*blocks.Manifest, error)
	// ReadBlock returns block i of the object, in dst's storage when it
	// fits, fetching it from the members when this node lacks it.
	ReadBlock(ctx context.Context, ref blocks.Ref, m *blocks.Manifest, i int, dst []byte) ([]byte, error)
	// Put stores r as a new object.
	Put(ctx context.Context, r io.Reader, opts files.PutOptions) (files.Stored, error)
	// Delete removes the object network-wide and returns the bytes freed here.
	Delete(ctx context.Context, ref blocks.Ref) (int64, error)
}

// Observer receives what the gateway measures; package metrics implements it.
type Observer interface {
	HTTP(api string, code int) // a request answered
	Get(d time.Duration)       // a whole-object GET, to its last byte
	ClientSent(n int)          // object bytes sent
	ClientReceived(n int)      // object bytes received
}

// Config configures a Server. Zero values mean defaults.
type Config struct {
	Listen  string  // host:port; port 0 picks a free one (required)
	Objects Objects // required
	// Metrics is served at /metrics; nil: 404.
	Metrics http.Handler
	// Ready reports why the node cannot serve yet (nil: ready), for /readyz.
	// nil: always ready.
	Ready    func() error
	Observer Observer       // default: nothing recorded
	Logger   zerolog.Logger // default: silent
	// S3, when set, serves the S3-compatible interface on the same
	// listener: requests signed with SigV4, and any path the gateway does
	// not serve itself.
	S3 *S3Config
}

// Server is the HTTP listener and its handlers.
type Server struct {
	cfg  Config
	log  zerolog.Logger
	ln   net.Listener
	srv  *http.Server
	pool bufpool.Pool // block buffers of the readers
	s3   *s3Gateway   // nil without S3

	ctx    context.Context // canceled by Close: ends every request
	cancel context.CancelFunc
	served chan struct{} // closed when Serve returned
	once   sync.Once

	mu      sync.Mutex // guards closing and reqs.Add
	closing bool
	reqs    sync.WaitGroup // handlers running
}

// New binds cfg.Listen and starts serving.
func New(cfg Config) (*Server, error) {
	if cfg.Objects == nil || cfg.Listen == "" {
		return nil, errors.New("gateway: Listen and Objects are required")
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	s := &Server{cfg: cfg, log: cfg.Logger, served: make(chan struct{})}
	if cfg.S3 != nil {
		var err error
		if s.s3, err = newS3(cfg.S3, cfg.Objects, cfg.Observer, cfg.Logger, &s.pool); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrListen, cfg.Listen, err)
	}
	s.ln = ln
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.srv = &http.Server{Handler: s.routes(), ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute,
		BaseContext: func(net.Listener) context.Context { return s.ctx },
		ErrorLog:    stdlog.New(debugWriter{cfg.Logger}, "", 0)}
	go func() {
		defer close(s.served)
		s.srv.Serve(ln)
	}()
	return s, nil
}

// Addr is the bound address, host:port, with the port resolved.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the base URL of the interface, http://host:port.
func (s *Server) URL() string { return "http://" + s.Addr() }

// Close stops listening, ends requests in flight (a GET being streamed is
// cut) and waits for their handlers. Safe to call twice.
func (s *Server) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		s.closing = true
		s.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		s.srv.Shutdown(ctx) // idle connections close; busy ones get a moment
		cancel()
		s.cancel()
		s.srv.Close()
		<-s.served
		s.reqs.Wait()
	})
	return nil
}

// routes is the request router. Every handler is counted so that Close
// can wait for it.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("GET /metrics", s.metrics)
	mux.HandleFunc("/ref/", s.ref)
	mux.HandleFunc("/ref", s.ref) // curl -T FILE http://host:port/ref (with a slash curl appends FILE's name)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.enter() {
			fail(w, http.StatusServiceUnavailable, errors.New("node is stopping"))
			return
		}
		defer s.reqs.Done()
		if s.s3 != nil && (isS3(r) || !ownPath(r.URL.Path)) {
			s.s3.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// ownPath reports the paths the gateway serves itself; with S3 on, the
// others are S3's (so a bucket may be called "metrics" when the request is
// signed).
func ownPath(p string) bool {
	return p == "/healthz" || p == "/readyz" || p == "/metrics" || p == "/ref" || strings.HasPrefix(p, "/ref/")
}

// enter registers a request unless Close began.
func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.reqs.Add(1)
	return true
}

// debugWriter logs what net/http reports (a client's bad TLS handshake, a
// broken connection) at debug level.
type debugWriter struct{ log zerolog.Logger }

func (d debugWriter) Write(p []byte) (int, error) {
	d.log.Debug().Msg(strings.TrimSpace(string(p)))
	return len(p), nil
}

type nopObserver struct{}

func (nopObserver) HTTP(string, int)   {}
func (nopObserver) Get(time.Duration)  {}
func (nopObserver) ClientSent(int)     {}
func (nopObserver) ClientReceived(int) {}
