package store

import (
	"fmt"
	"sync"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"golang.org/x/sys/unix"
)

// spaceGuard refuses new data when the filesystem under the store has less
// than reserve bytes free. Badger writes its value log, memtables and tables
// through mmap: on a full disk such a write is a SIGBUS that kills the
// process, not an ENOSPC, so the store must stop before the disk is full.
// It asks statfs at most once a second or when the bytes granted since the
// last statfs would eat into the reserve.
type spaceGuard struct {
	dir     string
	reserve int64
	refused func() // called on a refusal (wakes the space loop)

	mu      sync.Mutex
	budget  int64 // bytes that may still be written before the next statfs
	checked time.Time
}

// take grants n bytes of new data or returns ErrNoSpace.
func (g *spaceGuard) take(n int64) error {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.budget >= n && time.Since(g.checked) < time.Second {
		g.budget -= n
		return nil
	}
	free, err := freeBytes(g.dir)
	if err != nil {
		return fmt.Errorf("blocks: statfs %s: %w", g.dir, err)
	}
	g.checked, g.budget = time.Now(), free-g.reserve
	if g.budget < n {
		if g.refused != nil {
			g.refused()
		}
		return fmt.Errorf("%w: %d bytes free under %s, %d kept in reserve, write needs %d",
			blocks.ErrNoSpace, free, g.dir, g.reserve, n)
	}
	g.budget -= n
	return nil
}

func freeBytes(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// Estimated bytes one record adds to Badger (key, value, entry header).
const (
	useRecordBytes   = 128
	blockRecordBytes = 128
)
