package store

import (
	"os"
	"path/filepath"
	"syscall"
)

// Stats describes what a store holds.
type Stats struct {
	Objects    int64 // committed manifests
	Blocks     int64 // stored blocks
	BlockBytes int64 // bytes of stored blocks
	Pinned     int   // distinct pinned block ids
	LSMBytes   int64 // disk used by Badger's tables (*.sst)
	VlogBytes  int64 // disk used by Badger's value log (*.vlog)

	CachedObjects int   // objects held as cached copies (UseCache)
	CachedBytes   int64 // their sizes
	Evicted       int64 // cached copies evicted since Open
}

// Stats returns the counters, kept in memory (O(1)), and the disk usage of
// Badger's files, from one directory listing (0 when InMemory).
func (s *Store) Stats() (Stats, error) {
	if err := s.enter(); err != nil {
		return Stats{}, err
	}
	defer s.leave()
	st := Stats{Objects: s.objects.Load(), Blocks: s.blocks.Load(), BlockBytes: s.blockBytes.Load()}
	st.Pinned = s.blockMu.pinCount()
	st.CachedObjects, st.CachedBytes = s.cache.stats()
	st.Evicted = s.evicted.Load()
	if s.cfg.InMemory {
		return st, nil
	}
	var err error
	st.LSMBytes, st.VlogBytes, err = diskUsage(s.cfg.Dir)
	return st, err
}

// diskUsage sums the allocated size of table and value-log files in dir.
// Allocated, not apparent: Badger pre-sizes the open value-log file sparsely
// to twice ValueLogFileSize.
func diskUsage(dir string) (lsm, vlog int64, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0, err
	}
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			continue // removed by a compaction meanwhile
		}
		n := fi.Size()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			n = st.Blocks * 512
		}
		switch filepath.Ext(e.Name()) {
		case ".sst":
			lsm += n
		case ".vlog":
			vlog += n
		}
	}
	return lsm, vlog, nil
}
