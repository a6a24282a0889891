// Package testdata makes deterministic pseudo-random byte streams of any
// size without holding them in memory, so tests can put and compare
// hundreds of MiB cheaply.
package testdata

import (
	"encoding/binary"
	"hash"
	"io"

	"github.com/zeebo/blake3"
)

// Stream yields n bytes determined by seed.
type Stream struct {
	state uint64
	left  int64
	buf   [8]byte
	off   int
}

// New returns a stream of n bytes for seed.
func New(seed uint64, n int64) *Stream {
	return &Stream{state: seed*0x9E3779B97F4A7C15 + 1, left: n, off: 8}
}

// Read fills p with the next bytes (xorshift64*, fast and good enough).
func (s *Stream) Read(p []byte) (int, error) {
	if s.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > s.left {
		p = p[:s.left]
	}
	n := len(p)
	for len(p) > 0 {
		if s.off == 8 {
			s.state ^= s.state >> 12
			s.state ^= s.state << 25
			s.state ^= s.state >> 27
			binary.LittleEndian.PutUint64(s.buf[:], s.state*2685821657736338717)
			s.off = 0
		}
		k := copy(p, s.buf[s.off:])
		p, s.off = p[k:], s.off+k
	}
	s.left -= int64(n)
	return n, nil
}

// Bytes returns the whole stream for small n.
func Bytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	io.ReadFull(New(seed, int64(n)), b)
	return b
}

// Digest hashes what is written to it; compare two streams' digests to
// compare them without keeping either.
type Digest struct{ h hash.Hash }

// NewDigest returns an empty digest.
func NewDigest() *Digest { return &Digest{h: blake3.New()} }

func (d *Digest) Write(p []byte) (int, error) { return d.h.Write(p) }

// Sum returns the digest of everything written.
func (d *Digest) Sum() [32]byte {
	var out [32]byte
	copy(out[:], d.h.Sum(nil))
	return out
}

// Sum returns the digest of stream(seed, n).
func Sum(seed uint64, n int64) [32]byte {
	d := NewDigest()
	io.Copy(d, New(seed, n))
	return d.Sum()
}
