package curve

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	zmq "github.com/pebbe/zmq4"
	"github.com/rs/zerolog"
)

// zapEndpoint is where libzmq sends ZAP requests (RFC 27), per context.
const zapEndpoint = "inproc://zeromq.zap.01"

// ZAP answers libzmq's authentication requests for every socket of one
// ZeroMQ context: a CURVE client whose public key the allowlist holds is let
// in, with the key as its User-Id; anything else is refused. One goroutine
// owns the handler socket; Close stops it.
type ZAP struct {
	allow *Allowlist
	log   zerolog.Logger
	rep   *zmq.Socket // owned by run
	stop  *zmq.Socket // PAIR; used by Close only
	quit  *zmq.Socket // PAIR; owned by run
	done  chan struct{}
	once  sync.Once

	allowed, denied atomic.Uint64
}

// ZAPStats counts the handler's answers.
type ZAPStats struct{ Allowed, Denied uint64 }

// NewZAP binds the handler in zctx and starts it. There can be one per
// context.
func NewZAP(zctx *zmq.Context, allow *Allowlist, log zerolog.Logger) (*ZAP, error) {
	// Refusals are logged sampled: a storm of them must not become a storm
	// of log lines.
	z := &ZAP{allow: allow, log: log.Sample(&zerolog.BurstSampler{Burst: 20, Period: time.Second}), done: make(chan struct{})}
	if err := z.open(zctx); err != nil {
		z.closeSockets()
		return nil, fmt.Errorf("curve: zap handler: %w", err)
	}
	go z.run()
	return z, nil
}

func (z *ZAP) open(zctx *zmq.Context) error {
	var err error
	for _, s := range []struct {
		sock **zmq.Socket
		t    zmq.Type
	}{{&z.rep, zmq.REP}, {&z.quit, zmq.PAIR}, {&z.stop, zmq.PAIR}} {
		if *s.sock, err = zctx.NewSocket(s.t); err != nil {
			return err
		}
		if err = (*s.sock).SetLinger(0); err != nil {
			return err
		}
	}
	addr := fmt.Sprintf("inproc://emerge-zap-quit-%p", z)
	return errors.Join(z.rep.Bind(zapEndpoint), z.quit.Bind(addr), z.stop.Connect(addr))
}

func (z *ZAP) closeSockets() {
	for _, s := range []*zmq.Socket{z.rep, z.quit, z.stop} {
		if s != nil {
			s.Close()
		}
	}
}

// Stats returns the handler's counters.
func (z *ZAP) Stats() ZAPStats { return ZAPStats{z.allowed.Load(), z.denied.Load()} }

// Close stops the handler and closes its sockets. Safe to call twice; call
// it before terminating the context.
func (z *ZAP) Close() error {
	z.once.Do(func() {
		z.stop.Send("", 0)
		<-z.done
		z.stop.Close()
	})
	return nil
}

func (z *ZAP) run() {
	defer close(z.done)
	defer z.quit.Close()
	defer z.rep.Close()
	poller := zmq.NewPoller()
	poller.Add(z.rep, zmq.POLLIN)
	poller.Add(z.quit, zmq.POLLIN)
	for {
		polled, err := poller.Poll(-1)
		if err != nil {
			if zmq.AsErrno(err) == zmq.Errno(syscall.EINTR) {
				continue
			}
			z.log.Error().Err(err).Msg("zap handler stops")
			return
		}
		for _, p := range polled {
			if p.Socket == z.quit {
				return
			}
		}
		z.serve()
	}
}

// serve answers one request (the REP socket has one ready).
func (z *ZAP) serve() {
	req, err := z.rep.RecvMessageBytes(zmq.DONTWAIT)
	if err != nil {
		return
	}
	code, text, user := z.decide(req)
	var version, id []byte
	if len(req) >= 2 {
		version, id = req[0], req[1]
	}
	if _, err := z.rep.SendMessageDontwait(version, id, code, text, user, ""); err != nil {
		z.log.Debug().Err(err).Msg("zap reply not sent")
	}
}

// decide applies the allowlist: [version, id, domain, address, routing id,
// mechanism, credentials...].
func (z *ZAP) decide(req [][]byte) (code, text, user string) {
	if len(req) < 6 || string(req[0]) != "1.0" {
		z.denied.Add(1)
		return "500", "malformed ZAP request", ""
	}
	address, mechanism := string(req[3]), string(req[5])
	if mechanism != "CURVE" || len(req) != 7 || len(req[6]) != KeyLen {
		z.denied.Add(1)
		z.log.Warn().Str("peer", address).Str("mechanism", mechanism).Msg("refused: not a CURVE client")
		return "400", "CURVE required", ""
	}
	key := KeyText(req[6])
	if !z.allow.Allowed(key) {
		z.denied.Add(1)
		z.log.Warn().Str("peer", address).Str("key", key).Msg("refused: key not allowed")
		return "400", "key not allowed", ""
	}
	z.allowed.Add(1)
	return "200", "OK", key
}
