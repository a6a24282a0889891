package pubsub

import (
	"fmt"

	"github.com/emerge-dev/emerge/internal/curve"

	zmq "github.com/pebbe/zmq4"
	"github.com/rs/zerolog"
)

// DefaultListen is the PUB endpoint a node binds by default.
const DefaultListen = "tcp://127.0.0.1:7701"

// Defaults for the zero values of Config and HubOptions.
const (
	DefaultHWM    = 1000
	DefaultBuffer = 1024
	DefaultQueue  = 1024
)

// Config configures a ZMQBus. A zero field means its default.
type Config struct {
	// Context is the node's ZeroMQ context (required). The bus creates its
	// sockets in it, with LINGER 0; the node terminates it after closing
	// every bus and socket.
	Context *zmq.Context
	// NodeID is stamped on messages published with an empty From; messages
	// heard back From this id are dropped. Optional.
	NodeID string
	// Listen is the endpoint the PUB socket binds. Default DefaultListen;
	// "tcp://127.0.0.1:*" binds an ephemeral port (see Endpoint).
	Listen string
	// SendHWM and RecvHWM are the ZeroMQ high-water marks of the PUB and SUB
	// sockets, in messages per peer. Default DefaultHWM.
	SendHWM int
	RecvHWM int
	// Buffer is the capacity of the Messages channel. Default DefaultBuffer.
	Buffer int
	// Queue is the capacity of the queue from Publish to the socket owner.
	// Default DefaultQueue.
	Queue int
	// Logger receives debug lines about malformed frames and errors. The
	// zero value logs nothing.
	Logger zerolog.Logger
	// CurveServer, when set, makes the XPUB a CURVE server: traffic is
	// encrypted and the context's ZAP handler decides who subscribes.
	// CurveClient makes the SUB a CURVE client of the members' XPUBs. Nil:
	// plaintext. A CURVE subscriber and a plaintext publisher (or the
	// reverse) never hear each other.
	CurveServer *curve.Server
	CurveClient *curve.Client
}

// DefaultConfig returns a Config with every default filled except Context.
func DefaultConfig() Config {
	return Config{
		Listen:  DefaultListen,
		SendHWM: DefaultHWM,
		RecvHWM: DefaultHWM,
		Buffer:  DefaultBuffer,
		Queue:   DefaultQueue,
		Logger:  zerolog.Nop(),
	}
}

// fill validates c and replaces zero values with defaults.
func (c *Config) fill() error {
	switch {
	case c.Context == nil:
		return fmt.Errorf("%w: Context is required", ErrBadConfig)
	case len(c.NodeID) > MaxString:
		return fmt.Errorf("%w: NodeID longer than %d bytes", ErrBadConfig, MaxString)
	case c.SendHWM < 0 || c.RecvHWM < 0 || c.Buffer < 0 || c.Queue < 0:
		return fmt.Errorf("%w: negative SendHWM, RecvHWM, Buffer or Queue", ErrBadConfig)
	}
	d := DefaultConfig()
	if c.Listen == "" {
		c.Listen = d.Listen
	}
	c.SendHWM = orDefault(c.SendHWM, d.SendHWM)
	c.RecvHWM = orDefault(c.RecvHWM, d.RecvHWM)
	c.Buffer = orDefault(c.Buffer, d.Buffer)
	c.Queue = orDefault(c.Queue, d.Queue)
	return nil
}

func orDefault(v, d int) int {
	if v == 0 {
		return d
	}
	return v
}
