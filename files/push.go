package files

import (
	"context"
	"fmt"

	"github.com/emerge-dev/emerge/blocks"
)

// pushWindow is how many blocks of one upload may wait for their replica
// pushes at once. A Write returns once its block is stored here, so the
// client's window moves on while the pushes of earlier blocks run; this
// bounds the copies held for them (16 MiB at the default block size).
const pushWindow = 16

// swarmPushWindow is pushWindow for a put with prefetch targets: its pushes
// share each target's incoming link with the targets' pulls, so more of them
// in flight keep the put's flows as busy as the pulls (32 MiB at the default
// block size).
const swarmPushWindow = 32

// pushLater starts the replica pushes of block seq behind the Write that
// stored it, on a copy of data (the caller reuses its buffer). It waits for
// a slot when pushWindow blocks are being pushed. At replicas 1 there is
// nothing to push, only the live-member check of min_replicas.
func (u *Upload) pushLater(ctx context.Context, seq int, id blocks.ID, data []byte) error {
	s := u.svc
	if u.opts.Replicas <= 1 {
		if err := s.checkMembers(u.opts.MinReplicas); err != nil {
			return err
		}
		u.landing.land(id, nil)
		return nil
	}
	select {
	case u.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-u.ctx.Done():
		return fmt.Errorf("%w: %d", ErrUploadNotFound, u.id)
	}
	buf := s.pool.Get(len(data))
	copy(buf, data)
	u.pushes.Add(1)
	go func() {
		defer u.pushes.Done()
		defer func() { <-u.slots }()
		defer s.pool.Put(buf)
		holders, err := s.replicate(u.ctx, u.pending, id, buf, u.opts.Replicas, u.opts.MinReplicas, u.prefer)
		u.addHolders(seq, holders)
		if err != nil {
			u.failPush(fmt.Errorf("block %d: %w", seq, err))
			return
		}
		u.landing.land(id, holders)
		u.touch()
	}()
	return nil
}

// failPush records the first push failure: the upload cannot commit.
func (u *Upload) failPush(err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.pushErr == nil {
		u.pushErr = err
	}
}

// pushFailure is the first push that left its block under min_replicas.
func (u *Upload) pushFailure() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.pushErr
}
