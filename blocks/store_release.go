package blocks

// Release undoes one Pin of each id and deletes those left with no use and
// no pin: what an aborted upload or a failed fetch leaves behind. It frees
// space at once instead of waiting for the next Sweep.
func (s *Store) Release(ids ...ID) (freed int64, err error) {
	s.Unpin(ids...)
	if err := s.enter(); err != nil {
		return 0, err
	}
	defer s.leave()
	s.mu.Lock()
	defer s.mu.Unlock()
	freed, _, err = s.removeUnused(ids)
	return freed, err
}
