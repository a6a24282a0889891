package rpc

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/rs/zerolog"
)

// Caller sends requests to the rpc endpoints of other nodes: a node's pool
// of connections, or a virtual network in tests. Call has Conn.Call's
// contract: a non-ok reply is a *StatusError, the reply's data frames
// belong to the caller.
type Caller interface {
	Call(ctx context.Context, endpoint string, op Op, req Body, data [][]byte) (*Message, error)
}

// The functions below are the codec steps of one exchange, for transports
// other than ZeroMQ (the virtual network of the tests): every request and
// reply still goes through the same encoders, decoders and caps as on a
// socket.

// EncodeRequest encodes a request's header frame as Conn.Call does.
func EncodeRequest(op Op, id uint64, req Body) ([]byte, error) {
	head, err := encodeHeader(req, op, id)
	if err != nil {
		return nil, fmt.Errorf("%w: encode %s: %v", ErrBadRequest, op, err)
	}
	return head, nil
}

// ServeFrames serves one request given as its frames (header, data...) the
// way a Server does: parsed under lim, dispatched to h (a panic becomes an
// internal error), the reply or the error encoded. It returns the reply's
// frames (header, data...) and the reply's Done, which the caller runs once
// it no longer needs the data frames.
func ServeFrames(ctx context.Context, h Handler, frames [][]byte, lim Limits, log zerolog.Logger) ([][]byte, func()) {
	lim.fill()
	m, err := ParseFrames(frames, lim)
	if err != nil {
		if m == nil {
			m = &Message{}
		}
		head, _ := encodeHeader(errorBody(err), m.Op, m.ID)
		return [][]byte{head}, nil
	}
	rep, err := serveRecovered(ctx, h, m, log)
	if err == nil {
		var o outgoing
		if o, err = replyFrames(rep, m); err == nil {
			return append([][]byte{o.head}, o.data...), o.done
		}
	} else if rep != nil && rep.Done != nil {
		rep.Done()
	}
	head, _ := encodeHeader(errorBody(err), m.Op, m.ID)
	return [][]byte{head}, nil
}

func serveRecovered(ctx context.Context, h Handler, m *Message, log zerolog.Logger) (rep *Reply, err error) {
	defer func() {
		if p := recover(); p != nil {
			log.Error().Str("op", m.Op.String()).Interface("panic", p).Bytes("stack", debug.Stack()).Msg("rpc handler panic")
			rep, err = nil, fmt.Errorf("%w: handler panic in %s", ErrRemote, m.Op)
		}
	}()
	return h.Serve(ctx, m)
}

// DecodeReply parses a reply's frames (header, data...) as Conn does: a
// non-ok status becomes a *StatusError.
func DecodeReply(frames [][]byte, lim Limits) (*Message, error) {
	lim.fill()
	m, err := ParseFrames(frames, lim)
	switch {
	case err != nil:
		return nil, err
	case m.Status != StatusOK:
		return m, &StatusError{Status: m.Status, Msg: m.Msg}
	}
	return m, nil
}
