package pubsub

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// scan checks that p holds exactly one msgpack map, nested at most maxDepth
// deep, in which every declared string, binary and extension length and
// every array and map count fits in the bytes that follow it. The msgpack
// library allocates what a header declares (up to 1 MiB for a string, a
// million slots for a slice) before it reads; after scan, every declared
// size is bounded by len(p).
func scan(p []byte) error {
	if len(p) == 0 || !isMap(p[0]) {
		return errors.New("body is not a msgpack map")
	}
	s := scanner{p: p}
	if err := s.value(0); err != nil {
		return err
	}
	if s.off != len(p) {
		return fmt.Errorf("%d trailing bytes", len(p)-s.off)
	}
	return nil
}

func isMap(c byte) bool { return c&0xf0 == 0x80 || c == 0xde || c == 0xdf }

type scanner struct {
	p   []byte
	off int
}

var errShort = errors.New("truncated msgpack")

func (s *scanner) value(depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("msgpack nested deeper than %d", maxDepth)
	}
	c, err := s.uint(1)
	if err != nil {
		return err
	}
	switch {
	case c <= 0x7f || c >= 0xe0: // positive and negative fixint
		return nil
	case c <= 0x8f: // fixmap
		return s.items(2*int(c&0x0f), depth)
	case c <= 0x9f: // fixarray
		return s.items(int(c&0x0f), depth)
	case c <= 0xbf: // fixstr
		return s.skip(int(c & 0x1f))
	}
	return s.sized(byte(c), depth)
}

// fixed holds the payload size of the codes whose size is in the code.
var fixed = map[byte]int{
	0xc0: 0, 0xc2: 0, 0xc3: 0, // nil, false, true
	0xca: 4, 0xcb: 8, // float32, float64
	0xcc: 1, 0xcd: 2, 0xce: 4, 0xcf: 8, // uint8..uint64
	0xd0: 1, 0xd1: 2, 0xd2: 4, 0xd3: 8, // int8..int64
	0xd4: 2, 0xd5: 3, 0xd6: 5, 0xd7: 9, 0xd8: 17, // fixext: type byte + data
}

// lengthBytes holds the width of the length field of variable-size codes.
var lengthBytes = map[byte]int{
	0xc4: 1, 0xc5: 2, 0xc6: 4, // bin
	0xd9: 1, 0xda: 2, 0xdb: 4, // str
	0xc7: 1, 0xc8: 2, 0xc9: 4, // ext (then a type byte)
	0xdc: 2, 0xdd: 4, // array
	0xde: 2, 0xdf: 4, // map
}

// sized handles every code past the fix ranges.
func (s *scanner) sized(c byte, depth int) error {
	if n, ok := fixed[c]; ok {
		return s.skip(n)
	}
	w, ok := lengthBytes[c]
	if !ok {
		return fmt.Errorf("msgpack code %#x is not valid", c)
	}
	n, err := s.uint(w)
	if err != nil {
		return err
	}
	switch c {
	case 0xdc, 0xdd:
		return s.items(int(n), depth)
	case 0xde, 0xdf:
		return s.items(2*int(n), depth)
	case 0xc7, 0xc8, 0xc9:
		return s.skip(int(n) + 1)
	}
	return s.skip(int(n))
}

// items scans n nested values; each takes at least one byte, so a count
// larger than what is left is rejected before the loop.
func (s *scanner) items(n, depth int) error {
	if n > len(s.p)-s.off {
		return fmt.Errorf("msgpack count %d exceeds the %d bytes left", n, len(s.p)-s.off)
	}
	for i := 0; i < n; i++ {
		if err := s.value(depth + 1); err != nil {
			return err
		}
	}
	return nil
}

func (s *scanner) skip(n int) error {
	if n < 0 || n > len(s.p)-s.off {
		return errShort
	}
	s.off += n
	return nil
}

// uint reads a big-endian unsigned integer of w bytes (1, 2 or 4).
func (s *scanner) uint(w int) (uint64, error) {
	start := s.off
	if err := s.skip(w); err != nil {
		return 0, err
	}
	b := s.p[start:s.off]
	switch w {
	case 1:
		return uint64(b[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(b)), nil
	}
	return uint64(binary.BigEndian.Uint32(b)), nil
}
