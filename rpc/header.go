package rpc

import (
	"fmt"
	"reflect"

	"github.com/vmihailenco/msgpack/v5"
)

// Header is the common part of every header frame. Op-specific request and
// reply structs embed it, so the frame is one flat msgpack map.
type Header struct {
	V      uint8  `msgpack:"v"`
	Op     Op     `msgpack:"op"`
	ID     uint64 `msgpack:"id"`
	Status Status `msgpack:"st,omitempty"`
	Msg    string `msgpack:"msg,omitempty"`
}

func (h *Header) header() *Header { return h }

// Body is an op-specific request or reply struct: anything embedding Header.
type Body interface{ header() *Header }

// Limits caps what a peer may send. Every decoded length and count is bounded
// by one of these.
type Limits struct {
	MaxHeader  int   // bytes in the header frame
	MaxFrame   int   // bytes in one data frame
	MaxFrames  int   // data frames in one message
	MaxMessage int64 // bytes in all data frames of one message
	MaxMsg     int   // bytes of the status message string
}

// DefaultLimits: one data frame holds up to a 64 MiB block; a message up to
// 256 MiB.
func DefaultLimits() Limits {
	return Limits{
		MaxHeader:  1 << 20,
		MaxFrame:   64<<20 + 4096,
		MaxFrames:  1024,
		MaxMessage: 256 << 20,
		MaxMsg:     4096,
	}
}

func (l *Limits) fill() {
	d := DefaultLimits()
	if l.MaxHeader <= 0 {
		l.MaxHeader = d.MaxHeader
	}
	if l.MaxFrame <= 0 {
		l.MaxFrame = d.MaxFrame
	}
	if l.MaxFrames <= 0 {
		l.MaxFrames = d.MaxFrames
	}
	if l.MaxMessage <= 0 {
		l.MaxMessage = d.MaxMessage
	}
	if l.MaxMsg <= 0 {
		l.MaxMsg = d.MaxMsg
	}
}

// Message is a decoded request or reply: the common header, the raw header
// frame (for the op-specific decode) and the data frames.
type Message struct {
	Header
	Raw  []byte
	Data [][]byte
}

// Decode unmarshals the header frame into an op-specific struct. Errors wrap
// ErrBadRequest.
func (m *Message) Decode(v Body) error {
	if err := msgpack.Unmarshal(m.Raw, v); err != nil {
		return fmt.Errorf("%w: %s header: %v", ErrBadRequest, m.Op, err)
	}
	return nil
}

// ParseFrames decodes [header, data...] (the frames after the empty
// delimiter) under the limits. Errors wrap ErrBadRequest, ErrTooLarge or
// ErrUnsupported; the returned Message carries whatever header fields could be
// read (at least ID when the header decoded) so the caller can answer.
func ParseFrames(frames [][]byte, lim Limits) (*Message, error) {
	if len(frames) == 0 {
		return nil, fmt.Errorf("%w: no header frame", ErrBadRequest)
	}
	m := &Message{Raw: frames[0], Data: frames[1:]}
	if len(m.Raw) > lim.MaxHeader {
		return m, fmt.Errorf("%w: header frame of %d bytes, limit %d", ErrTooLarge, len(m.Raw), lim.MaxHeader)
	}
	if err := msgpack.Unmarshal(m.Raw, &m.Header); err != nil {
		return m, fmt.Errorf("%w: header: %v", ErrBadRequest, err)
	}
	if m.V == 0 || m.V > Version {
		return m, fmt.Errorf("%w: protocol version %d (this node speaks %d)", ErrUnsupported, m.V, Version)
	}
	if len(m.Msg) > lim.MaxMsg {
		return m, fmt.Errorf("%w: status message of %d bytes", ErrTooLarge, len(m.Msg))
	}
	return m, checkData(m.Data, lim)
}

func checkData(data [][]byte, lim Limits) error {
	if len(data) > lim.MaxFrames {
		return fmt.Errorf("%w: %d data frames, limit %d", ErrTooLarge, len(data), lim.MaxFrames)
	}
	var total int64
	for i, f := range data {
		if len(f) > lim.MaxFrame {
			return fmt.Errorf("%w: data frame %d of %d bytes, limit %d", ErrTooLarge, i, len(f), lim.MaxFrame)
		}
		total += int64(len(f))
	}
	if total > lim.MaxMessage {
		return fmt.Errorf("%w: %d data bytes in one message, limit %d", ErrTooLarge, total, lim.MaxMessage)
	}
	return nil
}

// encodeHeader encodes b with the common fields stamped in. It stamps a
// shallow copy, never b itself: callers may share one request body between
// concurrent calls (a leave sent to every member at once).
func encodeHeader(b Body, op Op, id uint64) ([]byte, error) {
	if v := reflect.ValueOf(b); v.Kind() == reflect.Pointer && !v.IsNil() {
		cp := reflect.New(v.Elem().Type())
		cp.Elem().Set(v.Elem())
		b = cp.Interface().(Body)
	}
	h := b.header()
	h.V, h.Op, h.ID = Version, op, id
	return msgpack.Marshal(b)
}
