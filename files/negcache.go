package files

import (
	"context"
	"errors"
	"fmt"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/internal/negcache"
)

// newMissing makes the service's negative cache: a ref no member had is
// remembered for one locate timeout, so repeating the question costs nothing.
// A get of an object put elsewhere moments after a failed get of it may
// therefore answer not found for up to that long.
func newMissing(cfg Config) *negcache.Cache[blocks.Ref] {
	return negcache.New[blocks.Ref](negcache.Config{TTL: cfg.LocateTimeout, Max: 4096, Now: cfg.Now})
}

// remoteManifestOnce is remoteManifest behind the negative cache. Only a
// search that ran to the end records a miss; a canceled one does not.
func (s *Service) remoteManifestOnce(ctx context.Context, ref blocks.Ref) (*blocks.Manifest, error) {
	if s.missing.Missing(ref) {
		return nil, fmt.Errorf("%w: object %s: no member held it moments ago", blocks.ErrNotFound, ref.Short())
	}
	m, err := s.remoteManifest(ctx, ref)
	if errors.Is(err, blocks.ErrNotFound) && ctx.Err() == nil {
		s.missing.Add(ref)
	}
	return m, err
}
