package pubsub

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/vmihailenco/msgpack/v5"
)

// Encode returns m's wire frame: [Version][m.Type][msgpack body]. It refuses
// an unknown type (ErrUnsupported), a missing required field (ErrBadMessage)
// and anything over a cap (ErrTooLarge): split long id lists with SplitIDs.
func Encode(m Message) ([]byte, error) {
	k, ok := kindOf(m.Type)
	if !ok {
		return nil, fmt.Errorf("%w: %w: %v", ErrBadMessage, ErrUnsupported, m.Type)
	}
	b := k.body()
	b.fill(&m)
	if err := b.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", k.name, err)
	}
	buf := bytes.NewBuffer(make([]byte, 0, sizeHint(&m)))
	buf.WriteByte(Version)
	buf.WriteByte(byte(m.Type))
	if err := msgpack.NewEncoder(buf).Encode(b); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadMessage, k.name, err)
	}
	if buf.Len() > MaxFrame {
		return nil, fmt.Errorf("%s: %w", k.name, tooLarge("frame bytes", buf.Len(), MaxFrame))
	}
	return buf.Bytes(), nil
}

// Decode parses one frame. Every error wraps ErrBadMessage; an unknown
// version or type also wraps ErrUnsupported, a cap exceeded ErrTooLarge.
// Decode never panics, and checks every declared length and count against
// the frame before decoding, so it allocates in proportion to len(frame).
func Decode(frame []byte) (Message, error) {
	k, err := header(frame)
	if err != nil {
		return Message{}, err
	}
	b := k.body()
	if err := unmarshal(frame[headerLen:], b); err != nil {
		if !errors.Is(err, ErrBadMessage) {
			err = fmt.Errorf("%w: %w", ErrBadMessage, err)
		}
		return Message{}, fmt.Errorf("%s: %w", k.name, err)
	}
	if err := b.check(); err != nil {
		return Message{}, fmt.Errorf("%s: %w", k.name, err)
	}
	m := Message{Type: Type(frame[1])}
	b.load(&m)
	return m, nil
}

// header checks the frame size, version and type.
func header(frame []byte) (kind, error) {
	switch {
	case len(frame) < headerLen:
		return kind{}, fmt.Errorf("%w: %d-byte frame", ErrBadMessage, len(frame))
	case len(frame) > MaxFrame:
		return kind{}, tooLarge("frame bytes", len(frame), MaxFrame)
	case frame[0] != Version:
		return kind{}, fmt.Errorf("%w: %w: protocol version %d, want %d", ErrBadMessage, ErrUnsupported, frame[0], Version)
	}
	k, ok := kindOf(Type(frame[1]))
	if !ok {
		return kind{}, fmt.Errorf("%w: %w: %v", ErrBadMessage, ErrUnsupported, Type(frame[1]))
	}
	return k, nil
}

// unmarshal decodes exactly one msgpack map from p into v, after scan has
// bounded every length in it.
func unmarshal(p []byte, v body) error {
	if err := scan(p); err != nil {
		return err
	}
	r := bytes.NewReader(p)
	if err := msgpack.NewDecoder(r).Decode(v); err != nil {
		return err
	}
	if r.Len() != 0 {
		return fmt.Errorf("%d trailing bytes", r.Len())
	}
	return nil
}

// sizeHint is about the encoded size of m, so Encode allocates once.
func sizeHint(m *Message) int {
	n := 64 + len(m.Payload) + len(m.From) + len(m.RPC) + len(m.Pub) + len(m.ReplyTo) + len(m.IDs)*blocks.IDSize
	for _, s := range m.Groups {
		n += len(s) + 2
	}
	for _, s := range m.Nodes {
		n += len(s) + 2
	}
	return n
}
