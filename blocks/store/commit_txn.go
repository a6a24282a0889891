package store

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/emerge-dev/emerge/blocks"
)

// maxConflictRetries bounds how often a commit transaction that lost a
// conflict (with Sweep removing the ref's expired tombstone, or with a
// PutBlock of a block CommitHeld found missing) is run again.
const maxConflictRetries = 8

// commitReq is one Commit or CommitHeld.
type commitReq struct {
	ref     blocks.Ref
	m       *blocks.Manifest
	use     Use
	held    bool       // CommitHeld: uses for the stored blocks only, none required
	pending blocks.Ref // CommitHeld: uses reserved under pending move to ref
}

// commitPlan is what a commit writes, decided from the stored records.
type commitPlan struct {
	m         *blocks.Manifest // merged with the stored manifest, if any
	use       Use
	isNew     bool // no manifest was stored
	clearTomb bool
	val       []byte      // the manifest's stored value: use byte + record
	ids       []blocks.ID // blocks to write a use of
}

// commit runs r holding ref's stripe and the read side of its blocks'
// stripes (no block of the object is removed meanwhile), in one
// transaction when it fits, else split. It returns the number of uses
// written.
func (s *Store) commit(r commitReq) (held int, err error) {
	defer s.refMu.lock(r.ref)()
	defer s.blockMu.readUses(r.m.Blocks)()
	var p commitPlan
	err = badger.ErrTxnTooBig
	if s.fitsOneTxn(len(r.m.Blocks)) {
		p, err = s.commitOne(r)
	}
	if errors.Is(err, badger.ErrTxnTooBig) {
		p, err = s.commitSplit(r)
	}
	if err != nil {
		return 0, fmt.Errorf("blocks: commit %s: %w", r.ref.Short(), mapErr(err))
	}
	if p.isNew {
		s.objects.Add(1)
	}
	s.committed(r.ref, p.use, p.m.Size)
	return len(p.ids), nil
}

// fitsOneTxn guesses whether a commit of n blocks (a use each, maybe a
// pending use to delete each, the manifest and the tombstone) fits one
// Badger transaction. A wrong guess costs time, not correctness: a
// transaction that grows too big is discarded and the commit split.
func (s *Store) fitsOneTxn(n int) bool {
	return int64(2*n+2) < s.db.MaxBatchCount()/2
}

// commitOne writes the whole commit in one transaction, so it is atomic.
func (s *Store) commitOne(r commitReq) (p commitPlan, err error) {
	for attempt := 0; ; attempt++ {
		p, err = s.commitTxn(r)
		if !errors.Is(err, badger.ErrConflict) || attempt == maxConflictRetries {
			return p, err
		}
	}
}

func (s *Store) commitTxn(r commitReq) (commitPlan, error) {
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	p, err := s.prepare(txn, r)
	if err != nil {
		return p, err
	}
	val := encodeUse(p.use, s.cfg.Clock())
	for _, id := range p.ids {
		if err := txn.Set(useKey(id, r.ref), val); err != nil {
			return p, err
		}
	}
	if !r.pending.IsZero() {
		for _, id := range distinct(r.m.Blocks) {
			if err := txn.Delete(useKey(id, r.pending)); err != nil {
				return p, err
			}
		}
	}
	if err := p.putManifest(txn, r.ref); err != nil {
		return p, err
	}
	return p, mapErr(txn.Commit())
}

// commitSplit writes the uses in as many transactions as Badger needs,
// then the manifest: a crash in between leaves uses that Sweep removes
// after PendingGrace, and no object.
func (s *Store) commitSplit(r commitReq) (p commitPlan, err error) {
	err = s.db.View(func(txn *badger.Txn) error {
		p, err = s.prepare(txn, r)
		return err
	})
	if err != nil {
		return p, mapErr(err)
	}
	if err := s.writeUses(r.ref, p.ids, p.use); err != nil {
		return p, err
	}
	if !r.pending.IsZero() {
		if err := s.deleteUses(r.pending, distinct(r.m.Blocks)); err != nil {
			return p, err
		}
	}
	err = s.db.Update(func(txn *badger.Txn) error { return p.putManifest(txn, r.ref) })
	return p, mapErr(err)
}

// prepare reads what r depends on in txn: the tombstone and the stored
// manifest (merged into the plan), and which blocks are stored; it takes
// the disk space the commit adds.
func (s *Store) prepare(txn *badger.Txn, r commitReq) (p commitPlan, err error) {
	if p, err = plan(txn, r.ref, r.m, r.use); err != nil {
		return p, err
	}
	if p.val, err = s.manifestValue(p); err != nil {
		return p, err
	}
	if r.held {
		p.ids, err = presentBlocks(txn, distinct(r.m.Blocks))
	} else {
		p.ids, err = r.m.Blocks, checkBlocks(txn, r.m.Blocks)
	}
	if err != nil {
		return p, err
	}
	return p, s.space.take(int64(len(p.ids))*useRecordBytes + int64(len(p.val)))
}

func plan(txn *badger.Txn, ref blocks.Ref, m *blocks.Manifest, use Use) (p commitPlan, err error) {
	p = commitPlan{m: m, use: use, isNew: true}
	tomb, dead, err := getTime(txn, tombKey(ref))
	if err != nil {
		return p, err
	}
	if dead && unixNano(tomb) >= unixNano(m.Created) {
		return p, fmt.Errorf("%w: %s deleted at %s, manifest created %s", blocks.ErrDeleted, ref.Short(), tomb, m.Created)
	}
	p.clearTomb = dead
	old, oldUse, err := getManifest(txn, ref)
	if err != nil || old == nil {
		return p, err
	}
	p.merge(old, oldUse)
	return p, nil
}

// merge folds the stored manifest into the plan.
func (p *commitPlan) merge(old *blocks.Manifest, oldUse Use) {
	mm := *p.m
	mm.Replicas = max(mm.Replicas, old.Replicas)
	if old.Created.After(mm.Created) {
		mm.Created = old.Created
	}
	p.m, p.isNew = &mm, false
	p.use = stronger(p.use, oldUse)
}

// manifestValue encodes the merged manifest as stored.
func (s *Store) manifestValue(p commitPlan) ([]byte, error) {
	rec, err := p.m.MarshalRecord()
	if err != nil {
		return nil, err
	}
	if int64(len(rec))+1 > s.cfg.maxValue() {
		return nil, fmt.Errorf("%w: record of %d bytes, this store takes at most %d", blocks.ErrBadManifest, len(rec), s.cfg.maxValue())
	}
	return append([]byte{byte(p.use)}, rec...), nil
}

// putManifest writes the manifest and clears the tombstone it outlives.
// The manifest goes first: should Badger refuse the second write as too
// big, the caller discards the transaction anyway.
func (p *commitPlan) putManifest(txn *badger.Txn, ref blocks.Ref) error {
	if err := txn.Set(manifestKey(ref), p.val); err != nil {
		return err
	}
	if p.clearTomb {
		return txn.Delete(tombKey(ref))
	}
	return nil
}

// checkBlocks returns ErrMissingBlocks unless every block is stored. A
// stored manifest does not prove its blocks are here (CommitHeld stores
// partial objects), so a re-commit checks them all.
func checkBlocks(txn *badger.Txn, ids []blocks.ID) error {
	missing, first := 0, blocks.ID{}
	for _, id := range ids {
		ok, err := exists(txn, blockKey(id))
		if err != nil {
			return err
		}
		if !ok && missing == 0 {
			first = id
		}
		if !ok {
			missing++
		}
	}
	if missing > 0 {
		return fmt.Errorf("%w: %d of %d blocks, first %s", blocks.ErrMissingBlocks, missing, len(ids), first.Short())
	}
	return nil
}

// presentBlocks returns those of ids that are stored.
func presentBlocks(txn *badger.Txn, ids []blocks.ID) ([]blocks.ID, error) {
	var out []blocks.ID
	for _, id := range ids {
		ok, err := exists(txn, blockKey(id))
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, id)
		}
	}
	return out, nil
}
