package node

import (
	"sync"

	"github.com/emerge-dev/emerge/blocks"
)

// relay passes block ids to a function set later, keeping those that come
// before it (the store quarantines lost blocks while it opens, before the
// object service that repairs them exists).
type relay struct {
	mu    sync.Mutex
	f     func(blocks.ID)
	early []blocks.ID
}

func (r *relay) tell(id blocks.ID) {
	r.mu.Lock()
	f := r.f
	if f == nil && len(r.early) < 1<<16 {
		r.early = append(r.early, id)
	}
	r.mu.Unlock()
	if f != nil {
		f(id)
	}
}

// to sets the function and hands it what came before.
func (r *relay) to(f func(blocks.ID)) {
	r.mu.Lock()
	early := r.early
	r.f, r.early = f, nil
	r.mu.Unlock()
	for _, id := range early {
		f(id)
	}
}
