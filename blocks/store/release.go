package store

import "github.com/emerge-dev/emerge/blocks"

// Release undoes one Pin of each id and deletes those left with no use and
// no pin: what an aborted upload or a failed fetch leaves behind. It frees
// space at once instead of waiting for the next Sweep. After a successful
// Commit every block of the object has a use, and Release then costs one
// read transaction and takes no lock but the pins'.
func (s *Store) Release(ids ...blocks.ID) (freed int64, err error) {
	s.Unpin(ids...)
	if err := s.enter(); err != nil {
		return 0, err
	}
	defer s.leave()
	freed, _, err = s.removeUnused(ids)
	return freed, err
}
