package blocks

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

func chunkAll(t *testing.T, r io.Reader, size int) ([][]byte, error) {
	t.Helper()
	c, err := NewChunker(r, size)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, size)
	var out [][]byte
	for {
		b, err := c.Next(buf)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, bytes.Clone(b))
	}
}

func TestChunkerSizes(t *testing.T) {
	const bs = MinBlockSize
	for _, n := range []int{0, 1, bs - 1, bs, bs + 1, 3 * bs, 3*bs + 17} {
		data := pseudoRandom(uint64(n), n)
		for name, r := range map[string]io.Reader{
			"plain":    bytes.NewReader(data),
			"one byte": iotest.OneByteReader(bytes.NewReader(data)),
			"half":     iotest.HalfReader(bytes.NewReader(data)),
			"data+EOF": iotest.DataErrReader(bytes.NewReader(data)),
		} {
			blocks, err := chunkAll(t, r, bs)
			if err != nil {
				t.Fatalf("%d bytes, %s: %v", n, name, err)
			}
			if len(blocks) != NumBlocks(int64(n), bs) {
				t.Fatalf("%d bytes, %s: %d blocks, want %d", n, name, len(blocks), NumBlocks(int64(n), bs))
			}
			if got := bytes.Join(blocks, nil); !bytes.Equal(got, data) {
				t.Fatalf("%d bytes, %s: blocks do not reassemble", n, name)
			}
			for i := 0; i+1 < len(blocks); i++ {
				if len(blocks[i]) != bs {
					t.Fatalf("%d bytes, %s: block %d is %d bytes", n, name, i, len(blocks[i]))
				}
			}
		}
	}
}

func TestChunkerEOFIsSticky(t *testing.T) {
	c, _ := NewChunker(bytes.NewReader(make([]byte, 10)), MinBlockSize)
	buf := make([]byte, MinBlockSize)
	if b, err := c.Next(buf); err != nil || len(b) != 10 {
		t.Fatalf("first: %d %v", len(b), err)
	}
	for i := 0; i < 2; i++ {
		if _, err := c.Next(buf); err != io.EOF {
			t.Fatalf("after the last block: %v", err)
		}
	}
	if c.Consumed() != 10 || c.BlockSize() != MinBlockSize {
		t.Fatalf("consumed %d, block size %d", c.Consumed(), c.BlockSize())
	}
}

func TestChunkerErrors(t *testing.T) {
	for _, size := range []int{0, MinBlockSize - 1, MaxBlockSize + 1} {
		if _, err := NewChunker(bytes.NewReader(nil), size); !errors.Is(err, ErrBadBlockSize) {
			t.Errorf("size %d: %v", size, err)
		}
	}
	c, _ := NewChunker(bytes.NewReader(make([]byte, 100)), MinBlockSize)
	if _, err := c.Next(make([]byte, MinBlockSize-1)); err == nil {
		t.Error("a short buffer was accepted")
	}
	boom := errors.New("disk on fire")
	c, _ = NewChunker(io.MultiReader(bytes.NewReader(make([]byte, 100)), iotest.ErrReader(boom)), MinBlockSize)
	if _, err := c.Next(make([]byte, MinBlockSize)); !errors.Is(err, boom) {
		t.Errorf("reader error: %v", err)
	}
}

// pseudoRandom returns n deterministic bytes that do not repeat in blocks.
func pseudoRandom(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, 42))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}
