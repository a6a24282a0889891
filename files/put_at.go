package files

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/emerge-dev/emerge/blocks"
)

// putAtWorkers is how many blocks PutAt reads, hashes and stores at once:
// as many as a streamed put keeps in flight, so a put from a file the node
// can read (a shared-memory upload) is no slower than one over the socket.
const putAtWorkers = 8

// PutAt stores size bytes of r as one object, reading, hashing, storing and
// replicating several blocks at once. A failed put leaves nothing visible.
func (s *Service) PutAt(ctx context.Context, r io.ReaderAt, size int64, opts PutOptions) (Stored, error) {
	u, err := s.Begin(opts)
	if err != nil {
		return Stored{}, err
	}
	n := blocks.NumBlocks(size, u.BlockSize())
	if err := s.writeBlocksAt(ctx, u, r, size, n); err != nil {
		u.Abort()
		return Stored{}, err
	}
	return u.Commit(ctx, n, size)
}

// writeBlocksAt writes blocks 0..n-1 of r into u from putAtWorkers
// goroutines, each taking the next block not yet taken.
func (s *Service) writeBlocksAt(ctx context.Context, u *Upload, r io.ReaderAt, size int64, n int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu   sync.Mutex
		next int
		errs []error
		wg   sync.WaitGroup
	)
	take := func(err error) int {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, err)
			cancel()
		}
		if len(errs) > 0 || next >= n {
			return -1
		}
		next++
		return next - 1
	}
	bs := int64(u.BlockSize())
	for range min(putAtWorkers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := s.pool.Get(int(bs))
			defer s.pool.Put(buf)
			var err error
			for i := take(nil); i >= 0; i = take(err) {
				off := int64(i) * bs
				b := buf[:min(bs, size-off)]
				if _, err = r.ReadAt(b, off); err != nil && !(errors.Is(err, io.EOF) && off+int64(len(b)) == size) {
					err = fmt.Errorf("read input at %d: %w", off, err)
					continue
				}
				err = u.Write(ctx, i, b)
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return ctx.Err()
}
