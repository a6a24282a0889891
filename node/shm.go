package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/blocks/shm"
	"github.com/emerge-dev/emerge/files"
	"github.com/emerge-dev/emerge/rpc"
	"github.com/rs/zerolog"
)

// Shared-memory hot copies (package blocks/shm). The node opens the tier in
// Start and closes it in Close, which removes its files; a node that
// crashed leaves files that the next Open removes.
//
// Hot copies are a cache: a put or a get never fails because of them. They
// are made inline for a local client's ShmGet, which waits for the copy, and
// in the background after a put and after a get that had to fetch blocks
// from peers, by one worker with a short queue; what does not fit the queue
// is skipped.

const (
	// hotQueue is how many objects may wait to be made hot in the background.
	hotQueue = 16
	// shmSweepEvery is the period of the tier's sweep of abandoned uploads.
	shmSweepEvery = time.Minute
)

type hotJob struct {
	ref blocks.Ref
	man *blocks.Manifest
}

// hotTier is the node's shared-memory tier and its background worker.
type hotTier struct {
	tier *shm.Tier
	log  zerolog.Logger
	jobs chan hotJob

	ctx    context.Context // canceled by close: stops the worker's copy
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	gets, puts atomic.Uint64 // ShmGet answered, uploads sealed into objects

	mu      sync.Mutex
	making  map[blocks.Ref]chan struct{} // hot copies being written, closed when done
	sealing map[string]*sealRun          // uploads being sealed, by name
}

// sealRun is one shm_seal in progress: an abort for its upload cancels it
// and waits for the outcome.
type sealRun struct {
	h      *hotTier
	name   string
	cancel context.CancelFunc
	done   chan struct{}
	st     files.Stored // set by the seal before end
	err    error
}

// beginSeal registers the seal of name; the returned ctx is canceled by an
// abort of the upload.
func (h *hotTier) beginSeal(ctx context.Context, name string) (context.Context, *sealRun) {
	ctx, cancel := context.WithCancel(ctx)
	r := &sealRun{h: h, name: name, cancel: cancel, done: make(chan struct{})}
	h.mu.Lock()
	h.sealing[name] = r
	h.mu.Unlock()
	return ctx, r
}

func (r *sealRun) end() {
	r.h.mu.Lock()
	delete(r.h.sealing, r.name)
	r.h.mu.Unlock()
	r.cancel()
	close(r.done)
}

// cancelSeal stops the seal of name, if one runs, and reports whether it
// had stored the object all the same.
func (h *hotTier) cancelSeal(name string) (files.Stored, bool) {
	h.mu.Lock()
	r := h.sealing[name]
	h.mu.Unlock()
	if r == nil {
		return files.Stored{}, false
	}
	r.cancel()
	<-r.done
	return r.st, r.err == nil && r.st.Manifest != nil
}

// startShm opens the tier unless shm_off, and starts its worker.
func (n *Node) startShm() error {
	if n.cfg.ShmOff {
		return nil
	}
	dir := n.cfg.ShmDir
	if dir == "" {
		dir = shm.DefaultDir(n.id)
	}
	log := n.log.With().Str("component", "shm").Logger()
	cfg := shm.DefaultConfig(dir)
	cfg.Capacity, cfg.Logger = int64(n.cfg.ShmBytes), log
	tier, err := shm.Open(cfg)
	if err != nil {
		return fmt.Errorf("node: shared memory in %s (shm_off turns it off): %w", dir, err)
	}
	h := &hotTier{tier: tier, log: log, jobs: make(chan hotJob, hotQueue), making: map[blocks.Ref]chan struct{}{},
		sealing: map[string]*sealRun{}}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.wg.Add(1)
	go n.hotWorker(h)
	n.shm = h
	st := tier.Stats()
	log.Info().Str("dir", dir).Int64("capacity", st.Capacity).Msg("shared memory ready")
	return nil
}

// stopShm stops the worker and closes the tier, removing its files. Safe to
// call twice.
func (n *Node) stopShm() error {
	h := n.shm
	if h == nil {
		return nil
	}
	var err error
	h.once.Do(func() {
		h.cancel()
		h.wg.Wait()
		err = h.tier.Close()
	})
	return err
}

// Shm is the node's shared-memory tier, nil when shm_off. For tests and tools.
func (n *Node) Shm() *shm.Tier {
	if n.shm == nil {
		return nil
	}
	return n.shm.tier
}

// hotWorker makes queued objects hot and sweeps abandoned uploads.
func (n *Node) hotWorker(h *hotTier) {
	defer h.wg.Done()
	sweep := time.NewTicker(shmSweepEvery)
	defer sweep.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-sweep.C:
			if k := h.tier.Sweep(); k > 0 {
				h.log.Info().Int("uploads", k).Msg("removed abandoned shared-memory uploads")
			}
		case j := <-h.jobs:
			if err := n.makeHot(h.ctx, j.ref, j.man); err != nil && !errors.Is(err, shm.ErrNoSpace) && h.ctx.Err() == nil {
				h.log.Debug().Err(err).Str("ref", j.ref.Short()).Msg("no hot copy")
			}
		}
	}
}

// makeHotLater queues ref for a hot copy unless it is hot already, does not
// fit, or the queue is full.
func (n *Node) makeHotLater(ref blocks.Ref, man *blocks.Manifest) {
	h := n.shm
	if h == nil || h.tier.Has(ref) || man.Size > h.tier.Stats().Capacity {
		return
	}
	select {
	case h.jobs <- hotJob{ref, man}:
	default:
	}
}

// makeHot writes ref's hot copy from its blocks (fetching missing ones like
// a get), unless it is hot or being made already; in that case it waits for
// the other writer.
func (n *Node) makeHot(ctx context.Context, ref blocks.Ref, man *blocks.Manifest) error {
	h := n.shm
	h.mu.Lock()
	if ch, ok := h.making[ref]; ok {
		h.mu.Unlock()
		select {
		case <-ch:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	ch := make(chan struct{})
	h.making[ref] = ch
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.making, ref)
		h.mu.Unlock()
		close(ch)
	}()
	if h.tier.Has(ref) {
		return nil
	}
	return n.writeHot(ctx, ref, man)
}

// writeHot copies the object's blocks into a new hot copy and seals it.
func (n *Node) writeHot(ctx context.Context, ref blocks.Ref, man *blocks.Manifest) error {
	w, err := n.shm.tier.Create(ref, man.Size)
	if errors.Is(err, shm.ErrExists) {
		return nil
	}
	if err != nil {
		return err
	}
	defer w.Abort()
	pool := n.files.Pool()
	buf := pool.Get(man.BlockSize)
	defer pool.Put(buf)
	for i := range man.Blocks {
		b, err := n.files.ReadBlock(ctx, ref, man, i, buf)
		if err != nil {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	if err := w.Seal(); err != nil {
		return err
	}
	n.shm.log.Debug().Str("ref", ref.Short()).Int64("size", man.Size).Msg("hot copy made")
	return nil
}

// dropHot removes ref's hot copy (the object was deleted). Views clients
// hold stay valid.
func (n *Node) dropHot(ref blocks.Ref) {
	if n.shm != nil {
		n.shm.tier.Remove(ref)
	}
}

// shmErr maps the tier's errors to the rpc sentinels their statuses come from.
func shmErr(err error) error {
	switch {
	case err == nil, errors.Is(err, blocks.ErrNotFound):
		return err
	case errors.Is(err, shm.ErrTooLarge):
		return fmt.Errorf("%w: %w", rpc.ErrTooLarge, err)
	case errors.Is(err, shm.ErrNoSpace):
		return fmt.Errorf("%w: %w", blocks.ErrNoSpace, err)
	case errors.Is(err, shm.ErrBusy), errors.Is(err, shm.ErrBadUpload), errors.Is(err, shm.ErrOverflow):
		return fmt.Errorf("%w: %w", rpc.ErrBadRequest, err)
	case errors.Is(err, shm.ErrClosed):
		return fmt.Errorf("%w: %w", rpc.ErrUnavailable, err)
	}
	return err
}

// allLocal reports whether this node stores every block of man.
func (n *Node) allLocal(man *blocks.Manifest) bool {
	has, err := n.store.HasBlocks(man.Blocks)
	if err != nil {
		return false
	}
	for _, ok := range has {
		if !ok {
			return false
		}
	}
	return true
}

// hotAfterFetch queues a hot copy of an object a get is starting to read
// when this node lacks some of its blocks: the get fetches them, and the
// next local reader finds the object in shared memory.
func (n *Node) hotAfterFetch(ref blocks.Ref, man *blocks.Manifest) {
	if n.shm == nil || len(man.Blocks) == 0 || man.Size > n.shm.tier.Stats().Capacity || n.shm.tier.Has(ref) {
		return
	}
	has, err := n.store.HasBlocks(man.Blocks)
	if err != nil {
		return
	}
	for _, ok := range has {
		if !ok {
			n.makeHotLater(ref, man)
			return
		}
	}
}

// shmInfo is the tier's part of Info; nil when shm_off.
func (n *Node) shmInfo() *rpc.ShmInfo {
	if n.shm == nil {
		return nil
	}
	st := n.shm.tier.Stats()
	return &rpc.ShmInfo{Dir: n.shm.tier.Dir(), Capacity: st.Capacity, Used: st.Used, Objects: st.Entries,
		Evictions: st.Evictions, Gets: n.shm.gets.Load(), Puts: n.shm.puts.Load()}
}
