package files

import (
	"context"
	"fmt"
	"io"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/internal/bufpool"
)

// Info summarises an object as seen from this node.
type Info struct {
	Ref      blocks.Ref
	Manifest *blocks.Manifest
	Local    int // blocks of the object held by this node
}

// Manifest returns an object's manifest.
func (s *Service) Manifest(ctx context.Context, ref blocks.Ref) (*blocks.Manifest, error) {
	m, _, err := s.store.Manifest(ref) // its errors name the ref
	return m, err
}

// ReadBlock returns block i of the object into dst's storage when it fits.
func (s *Service) ReadBlock(ctx context.Context, m *blocks.Manifest, i int, dst []byte) ([]byte, error) {
	if i < 0 || i >= len(m.Blocks) {
		return nil, fmt.Errorf("%w: block %d of %d", blocks.ErrNotFound, i, len(m.Blocks))
	}
	b, err := s.store.GetBlock(m.Blocks[i], dst)
	if err != nil {
		return nil, fmt.Errorf("block %d (%s): %w", i, m.Blocks[i].Short(), err)
	}
	return b, nil
}

// WriteTo copies the object to w in order and returns the bytes written.
func (s *Service) WriteTo(ctx context.Context, ref blocks.Ref, w io.Writer) (int64, error) {
	m, err := s.Manifest(ctx, ref)
	if err != nil {
		return 0, err
	}
	buf := s.pool.Get(m.BlockSize)
	defer s.pool.Put(buf)
	var n int64
	for i := range m.Blocks {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		b, err := s.ReadBlock(ctx, m, i, buf)
		if err != nil {
			return n, err
		}
		k, err := w.Write(b)
		n += int64(k)
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Stat describes an object and how much of it this node holds.
func (s *Service) Stat(ctx context.Context, ref blocks.Ref) (*Info, error) {
	m, err := s.Manifest(ctx, ref)
	if err != nil {
		return nil, err
	}
	has, err := s.store.HasBlocks(m.Blocks)
	if err != nil {
		return nil, err
	}
	info := &Info{Ref: ref, Manifest: m}
	for _, h := range has {
		if h {
			info.Local++
		}
	}
	return info, nil
}

// Delete removes an object from this node and returns the bytes freed.
func (s *Service) Delete(ctx context.Context, ref blocks.Ref) (int64, error) {
	return s.store.Delete(ref, s.cfg.Now().UTC())
}

// List pages through objects in ref order after after.
func (s *Service) List(ctx context.Context, after blocks.Ref, limit int) ([]blocks.ObjectInfo, error) {
	return s.store.List(after, limit)
}

// Pool is the service's buffer pool, shared with the rpc handlers.
func (s *Service) Pool() *bufpool.Pool { return &s.pool }
