package blocks

import (
	"errors"
	"fmt"
	"io"
)

// Chunker cuts a stream into fixed-size blocks. It holds one block at a time,
// so an object of any size streams through a buffer of BlockSize bytes.
type Chunker struct {
	r    io.Reader
	size int
	n    int64
	done bool
}

// NewChunker returns a chunker over r cutting blocks of size bytes.
func NewChunker(r io.Reader, size int) (*Chunker, error) {
	if size < MinBlockSize || size > MaxBlockSize {
		return nil, fmt.Errorf("%w: %d (allowed %d..%d)", ErrBadBlockSize, size, MinBlockSize, MaxBlockSize)
	}
	return &Chunker{r: r, size: size}, nil
}

// Next reads the next block into buf (which must hold BlockSize bytes) and
// returns the filled prefix. It returns io.EOF after the last block; a short
// final block is returned with a nil error. An empty stream yields io.EOF at
// once: zero bytes make zero blocks.
func (c *Chunker) Next(buf []byte) ([]byte, error) {
	if c.done {
		return nil, io.EOF
	}
	if len(buf) < c.size {
		return nil, fmt.Errorf("chunker: buffer of %d bytes, need %d", len(buf), c.size)
	}
	n, err := io.ReadFull(c.r, buf[:c.size])
	c.n += int64(n)
	switch {
	case err == nil:
		return buf[:n], nil
	case errors.Is(err, io.ErrUnexpectedEOF):
		c.done = true
		return buf[:n], nil
	case errors.Is(err, io.EOF):
		c.done = true
		return nil, io.EOF
	default:
		return nil, err
	}
}

// BlockSize returns the block size.
func (c *Chunker) BlockSize() int { return c.size }

// Consumed returns how many bytes have been read so far.
func (c *Chunker) Consumed() int64 { return c.n }
