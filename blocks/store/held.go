package store

import "github.com/emerge-dev/emerge/blocks"

// CommitHeld commits the manifest of an object this store holds only part
// of: a placement owner of some of its blocks, a node whose fetch is under
// way, or one that only keeps the manifest so others can find the object.
// Uses are written for the blocks that are present; blocks stored later are
// tied to ref with Reserve. The tombstone and merge rules of Commit apply.
//
// When pending is not zero, uses reserved under pending for the object's
// blocks (a put whose ref was not known while its blocks were pushed) are
// moved to ref. It returns how many of the object's blocks are held.
func (s *Store) CommitHeld(ref blocks.Ref, m *blocks.Manifest, use Use, pending blocks.Ref) (held int, err error) {
	if err := s.enter(); err != nil {
		return 0, err
	}
	defer s.leave()
	if err := use.check(); err != nil {
		return 0, err
	}
	if err := checkRef(ref, m); err != nil {
		return 0, err
	}
	return s.commit(commitReq{ref: ref, m: m, use: use, held: true, pending: pending})
}
