package pubsub

import (
	"errors"
	"fmt"
	"time"

	zmq "github.com/pebbe/zmq4"
)

// batch caps the frames the owner sends or receives in one turn, so a busy
// direction cannot starve the other or the commands.
const batch = 256

// zmqOwner holds what only the owner goroutine touches.
type zmqOwner struct {
	bus   *ZMQBus
	pub   *zmq.Socket // an XPUB: see guard.go
	sub   *zmq.Socket
	wake  *waker
	guard *guard
	peers map[string]bool // endpoints sub is connected to
}

// newOwner makes the sockets: XPUB bound to cfg.Listen and its monitor, SUB
// subscribed to everything, and the waker's pair. It returns the resolved
// endpoint.
func newOwner(cfg *Config, b *ZMQBus) (*zmqOwner, string, error) {
	o := &zmqOwner{bus: b, peers: make(map[string]bool)}
	endpoint, err := o.openPub(cfg)
	if err == nil {
		err = o.openSub(cfg)
	}
	if err == nil {
		o.wake, err = newWaker(cfg.Context)
	}
	if err != nil {
		o.closeSockets()
		return nil, "", err
	}
	return o, endpoint, nil
}

func (o *zmqOwner) openPub(cfg *Config) (string, error) {
	var err error
	if o.pub, err = newSocket(cfg.Context, zmq.XPUB); err != nil {
		return "", err
	}
	// A ZAP domain makes libzmq refuse ZMTP 1.0/2.0 peers, as on the rpc
	// ROUTER: random bytes at the port never parse as subscriptions.
	err = firstErr(o.pub.SetSndhwm(cfg.SendHWM), o.pub.SetRcvhwm(subRcvHWM), o.pub.SetXpubVerbose(1),
		o.pub.SetMaxmsgsize(subMaxMsg), o.pub.SetZapDomain(ZAPDomain))
	if err == nil && cfg.CurveServer != nil {
		err = cfg.CurveServer.Apply(o.pub)
	}
	if err != nil {
		return "", fmt.Errorf("pubsub: xpub options: %w", err)
	}
	if o.guard, err = newGuard(cfg.Context, o.pub, o.bus); err != nil {
		return "", err
	}
	if err := o.pub.Bind(cfg.Listen); err != nil {
		return "", wrapEndpoint("bind", cfg.Listen, err)
	}
	ep, err := o.pub.GetLastEndpoint()
	o.guard.bound(ep)
	return ep, err
}

func (o *zmqOwner) openSub(cfg *Config) error {
	var err error
	if o.sub, err = newSocket(cfg.Context, zmq.SUB); err != nil {
		return err
	}
	if cfg.CurveClient != nil {
		if err := cfg.CurveClient.Apply(o.sub); err != nil {
			return err
		}
	}
	// A peer that sends a frame over the cap is disconnected by ZeroMQ
	// before the frame is buffered; it is not valid anyway.
	return firstErr(o.sub.SetRcvhwm(cfg.RecvHWM), o.sub.SetMaxmsgsize(MaxFrame), o.sub.SetSubscribe(""))
}

func (o *zmqOwner) closeSockets() error {
	var errs []error
	if o.guard != nil {
		o.pub.Monitor("", 0)
		o.guard.close()
	}
	for _, s := range []*zmq.Socket{o.pub, o.sub} {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	if o.wake != nil {
		o.wake.close()
	}
	return errors.Join(errs...)
}

// run is the owner goroutine: poll SUB and the wake socket, then publish
// queued frames, run commands and read frames, until Close.
func (o *zmqOwner) run() {
	defer o.exit()
	poller := zmq.NewPoller()
	poller.Add(o.sub, zmq.POLLIN)
	poller.Add(o.wake.recv, zmq.POLLIN)
	poller.Add(o.pub, zmq.POLLIN)
	poller.Add(o.guard.mon, zmq.POLLIN)
	timeout := time.Duration(-1)
	for {
		if _, err := poller.Poll(timeout); err != nil {
			if isEINTR(err) {
				continue
			}
			o.logStop(err)
			return
		}
		o.wake.drain()
		if o.bus.closed() {
			return
		}
		busy := o.publish()
		o.commands()
		busy = o.receive() || busy
		busy = o.guard.readSubs(o.pub) || busy
		timeout = -1
		if busy {
			timeout = 0 // work is left: look again without blocking
		}
	}
}

func (o *zmqOwner) logStop(err error) {
	if isETERM(err) {
		o.bus.log.Debug().Msg("zmq context terminated; bus stops")
		return
	}
	o.bus.log.Error().Err(err).Msg("poll failed; bus stops")
}

func (o *zmqOwner) exit() {
	b := o.bus
	b.closeErr = o.closeSockets()
	close(b.msgs)
	close(b.done)
	b.wg.Done()
}

// publish sends up to batch queued frames; it reports whether more wait.
func (o *zmqOwner) publish() bool {
	for range batch {
		select {
		case f := <-o.bus.out:
			o.send(f)
		default:
			return false
		}
	}
	return true
}

func (o *zmqOwner) send(frame []byte) {
	// A PUB socket drops at a subscriber's high-water mark instead of
	// blocking; an error here is EAGAIN from a transient state or worse.
	if _, err := o.pub.SendBytes(frame, zmq.DONTWAIT); err != nil {
		o.bus.stats.sendDropped.Add(1)
		if !isEAGAIN(err) {
			o.bus.log.Debug().Err(err).Msg("publish failed")
		}
		return
	}
	o.bus.stats.published.Add(1)
}

// commands runs every queued connect and disconnect.
func (o *zmqOwner) commands() {
	for {
		select {
		case c := <-o.bus.cmds:
			c.reply <- o.apply(c)
		default:
			return
		}
	}
}

func (o *zmqOwner) apply(c command) error {
	ep := c.endpoint
	switch {
	case c.op == cmdCutSubscribers:
		o.guard.cutAll()
		return nil
	case ep == o.bus.endpoint || (c.op == cmdConnect) == o.peers[ep]:
		return nil // self, already connected, or not connected
	case c.op == cmdConnect:
		if err := o.sub.Connect(ep); err != nil {
			return wrapEndpoint("connect", ep, err)
		}
		o.peers[ep] = true
	default:
		delete(o.peers, ep)
		if err := o.sub.Disconnect(ep); err != nil {
			return wrapEndpoint("disconnect", ep, err)
		}
	}
	return nil
}

// receive reads up to batch frames; it reports whether more may wait.
func (o *zmqOwner) receive() bool {
	for range batch {
		parts, err := o.sub.RecvMessageBytes(zmq.DONTWAIT)
		if err != nil {
			if !isEAGAIN(err) {
				o.bus.log.Debug().Err(err).Msg("receive failed")
			}
			return false
		}
		o.handle(parts)
	}
	return true
}

// handle decodes one inbound ZeroMQ message and delivers it.
func (o *zmqOwner) handle(parts [][]byte) {
	b := o.bus
	if len(parts) != 1 {
		b.stats.malformed.Add(1)
		b.log.Debug().Int("parts", len(parts)).Msg("dropped multipart message")
		return
	}
	m, err := Decode(parts[0])
	if err != nil {
		b.stats.malformed.Add(1)
		b.log.Debug().Err(err).Int("bytes", len(parts[0])).Msg("dropped malformed frame")
		return
	}
	if b.cfg.NodeID != "" && m.From == b.cfg.NodeID {
		return // our own message, heard through a connection to ourselves
	}
	deliver(b.msgs, m, &b.stats)
}
