package files

import (
	"errors"
	"fmt"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/blocks/store"
	"github.com/emerge-dev/emerge/rpc"
)

// StoreBlocks keeps blocks pushed by a peer under key (a ref, or the
// pending key of a put in progress). Every block is re-hashed before it is
// stored: a peer's bytes are never trusted.
func (s *Service) StoreBlocks(key blocks.Ref, ids []blocks.ID, data [][]byte) error {
	if len(ids) != len(data) {
		return fmt.Errorf("%w: %d ids for %d data frames", rpc.ErrBadRequest, len(ids), len(data))
	}
	for i := range ids {
		if len(data[i]) == 0 || len(data[i]) > blocks.MaxBlockSize {
			return fmt.Errorf("%w: block %s of %d bytes", rpc.ErrBadRequest, ids[i].Short(), len(data[i]))
		}
		if err := blocks.Verify(ids[i], data[i]); err != nil {
			return fmt.Errorf("%w: %w", rpc.ErrBadRequest, err)
		}
	}
	return s.keep(key, ids, data, store.UseOwner)
}

// storeVerified stores a block whose bytes the caller hashed. A copy
// already stored is read back and checked first: a damaged one is
// quarantined by the read and replaced by these bytes, so a put of the
// right bytes heals the node's copy instead of trusting it.
func (s *Service) storeVerified(id blocks.ID, data []byte) error {
	has, err := s.store.HasBlocks([]blocks.ID{id})
	if err != nil {
		return err
	}
	if has[0] {
		buf := s.pool.Get(len(data))
		_, err := s.store.GetBlock(id, buf)
		s.pool.Put(buf)
		if !errors.Is(err, store.ErrQuarantined) {
			return err
		}
	}
	return s.store.PutBlock(id, data)
}

// keep stores verified blocks and ties them to key under use: pinned while
// stored, so no sweep drops them before their use is written, and used only
// once stored, so a failure leaves no use of a missing block. On a failure
// the blocks it stored that nothing else uses are removed (Release), since
// the store sweeps orphan blocks only when it opens.
func (s *Service) keep(key blocks.Ref, ids []blocks.ID, data [][]byte, use store.Use) error {
	s.store.Pin(ids...)
	err := s.store.PutBlocks(ids, data)
	if err == nil {
		err = s.store.Reserve(key, ids, use)
	}
	if err != nil {
		if _, rerr := s.store.Release(ids...); rerr != nil {
			s.log.Debug().Err(rerr).Msg("release of blocks a failed keep stored")
		}
		return err
	}
	s.store.Unpin(ids...)
	return nil
}

// AdoptManifest commits a manifest sent by the node that ran a put (or by a
// repair): the blocks this node received under pending move to the ref, as
// owner copies, or as kept (prefetched) copies when this node is a prefetch
// target of the put: those must not turn into owner copies that a repair
// pass may trim before the prefetch commits them as kept.
func (s *Service) AdoptManifest(ref, pending blocks.Ref, rec []byte, kept bool) (int, error) {
	m, got, err := blocks.UnmarshalRecord(rec)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", rpc.ErrBadRequest, err)
	}
	if got != ref {
		return 0, fmt.Errorf("%w: manifest record of %s sent as %s", rpc.ErrBadRequest, got.Short(), ref.Short())
	}
	use := store.UseOwner
	if kept {
		use = store.UseKept
	}
	return s.store.CommitHeld(ref, m, use, pending)
}

// ManifestRecord returns the stored record of ref (this node only).
func (s *Service) ManifestRecord(ref blocks.Ref) ([]byte, error) {
	m, _, err := s.store.Manifest(ref)
	if err != nil {
		return nil, err
	}
	return m.MarshalRecord()
}

// Forget applies a delete made elsewhere at at: tombstone, drop blocks no
// other object uses, and stop any fetch of the ref. The tombstone is
// written even when this node does not know the object, so a fetch that
// finishes later cannot bring it back.
func (s *Service) Forget(ref blocks.Ref, at time.Time) (int64, error) {
	s.cancelFetch(ref)
	s.pf.forget(ref)
	return s.store.Delete(ref, at)
}

// forgetIfKnown is Forget for an object this node has; for one it does
// not, it changes nothing and returns ErrNotFound.
func (s *Service) forgetIfKnown(ref blocks.Ref, at time.Time) (int64, error) {
	freed, err := s.store.DeleteIfKnown(ref, at)
	if err == nil {
		s.cancelFetch(ref)
		s.pf.forget(ref)
	}
	return freed, err
}
