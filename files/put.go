package files

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/emerge-dev/emerge/blocks"
)

// Put streams r into a new object: one block in memory at a time.
func (s *Service) Put(ctx context.Context, r io.Reader, opts PutOptions) (Stored, error) {
	u, err := s.Begin(opts)
	if err != nil {
		return Stored{}, err
	}
	ch, err := blocks.NewChunker(r, u.BlockSize())
	if err != nil {
		u.Abort()
		return Stored{}, err
	}
	buf := s.pool.Get(u.BlockSize())
	defer s.pool.Put(buf)
	n := 0
	for {
		if err := ctx.Err(); err != nil {
			u.Abort()
			return Stored{}, err
		}
		b, err := ch.Next(buf)
		if errors.Is(err, io.EOF) {
			break
		}
		if err == nil {
			err = u.Write(ctx, n, b)
		} else {
			err = fmt.Errorf("read input: %w", err)
		}
		if err != nil {
			u.Abort()
			return Stored{}, err
		}
		n++
	}
	return u.Commit(ctx, n, ch.Consumed())
}
