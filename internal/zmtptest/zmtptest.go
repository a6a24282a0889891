// Package zmtptest speaks just enough ZMTP 3.0 (NULL mechanism) from raw TCP
// to act as a SUB socket, for tests that flood a publisher with
// subscriptions: the flood is bytes, so the test process holds no
// subscriber-side state and a memory measurement sees the publisher's alone.
package zmtptest

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// Sub is a raw subscriber connection.
type Sub struct {
	conn net.Conn
	w    *bufio.Writer
}

// DialSub connects to a tcp:// endpoint and completes the handshake as a
// SUB socket.
func DialSub(endpoint string) (*Sub, error) {
	addr, ok := strings.CutPrefix(endpoint, "tcp://")
	if !ok {
		return nil, fmt.Errorf("zmtptest: not a tcp endpoint: %s", endpoint)
	}
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	s := &Sub{conn: conn, w: bufio.NewWriterSize(conn, 64<<10)}
	if err := s.handshake(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("zmtptest: handshake with %s: %w", endpoint, err)
	}
	return s, nil
}

// handshake sends the greeting and READY, then waits for the peer's: data
// sent before the handshake is over would be taken for a command.
func (s *Sub) handshake() error {
	greet := make([]byte, 64)
	greet[0], greet[9], greet[10], greet[11] = 0xff, 0x7f, 3, 0
	copy(greet[12:], "NULL")
	s.w.Write(greet)
	body := append([]byte{5}, "READY"...)
	body = append(body, 11)
	body = append(body, "Socket-Type"...)
	body = binary.BigEndian.AppendUint32(body, 3)
	body = append(body, "SUB"...)
	s.w.Write([]byte{0x04, byte(len(body))})
	s.w.Write(body)
	if err := s.w.Flush(); err != nil {
		return err
	}
	s.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(s.conn)
	if _, err := io.ReadFull(r, make([]byte, 64)); err != nil {
		return err
	}
	if _, err := readFrame(r); err != nil {
		return err
	}
	s.conn.SetReadDeadline(time.Time{})
	go io.Copy(io.Discard, r) // whatever is published
	return nil
}

// readFrame reads one ZMTP frame and returns its body.
func readFrame(r *bufio.Reader) ([]byte, error) {
	flags, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	var size uint64
	if flags&0x02 != 0 {
		var b [8]byte
		_, err = io.ReadFull(r, b[:])
		size = binary.BigEndian.Uint64(b[:])
	} else {
		var b byte
		b, err = r.ReadByte()
		size = uint64(b)
	}
	if err != nil || size > 1<<20 {
		return nil, fmt.Errorf("zmtp frame of %d bytes: %v", size, err)
	}
	body := make([]byte, size)
	_, err = io.ReadFull(r, body)
	return body, err
}

// Subscribe queues one subscription message (ZMTP 3.0: a data frame
// starting with 1); topics are at most 254 bytes.
func (s *Sub) Subscribe(topic []byte) error {
	s.w.Write([]byte{0x00, byte(1 + len(topic)), 1})
	_, err := s.w.Write(topic)
	return err
}

// Flush sends what is queued.
func (s *Sub) Flush() error { return s.w.Flush() }

// Close drops the connection.
func (s *Sub) Close() error { return s.conn.Close() }

// Flood subscribes to n random topics of size bytes, seeded, and flushes.
// It stops at the first error (the publisher cut the connection).
func (s *Sub) Flood(n, size int, seed uint64) error {
	topic := make([]byte, size)
	x := seed | 1
	for i := 0; i < n; i++ {
		for j := range topic {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			topic[j] = byte(x)
		}
		if err := s.Subscribe(topic); err != nil {
			return err
		}
	}
	return s.Flush()
}
