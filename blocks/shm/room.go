package shm

import (
	"fmt"
	"os"
)

// room makes space for n more bytes, dropping pool files before evicting
// hot copies least recently used first, and returns a pool file whose pages
// the caller reuses (nil: create a fresh file). On success the caller owns
// n bytes of accounting; a returned pool file's bytes are already released.
// Hot copies are evicted only while hot+reserved+uploads+n > Capacity.
func (t *Tier) room(n int64) (*poolFile, error) {
	if t.reserved+t.uploaded+n > t.cfg.Capacity { // evicting everything would not do
		return nil, fmt.Errorf("%w: %d bytes wanted, %d reserved by writers and uploads, capacity %d",
			ErrNoSpace, n, t.reserved+t.uploaded, t.cfg.Capacity)
	}
	for {
		pf := t.pool.bestFit(n)
		need := n
		if pf != nil {
			need -= pf.size
		}
		if t.used()+need <= t.cfg.Capacity {
			if pf != nil {
				t.pool.remove(pf)
			}
			return pf, nil
		}
		if other := t.pool.oldestExcept(pf); other != nil {
			t.drop(other)
			continue
		}
		if !t.evictOne() {
			return nil, fmt.Errorf("%w: %d bytes wanted, %d of %d used and not evictable",
				ErrNoSpace, n, t.used(), t.cfg.Capacity)
		}
	}
}

// evictOne retires the least recently used hot copy; false if none.
func (t *Tier) evictOne() bool {
	el := t.lru.Back()
	if el == nil {
		return false
	}
	e := t.lru.Remove(el).(*entry)
	delete(t.entries, e.ref)
	t.hot -= e.size
	t.evicted++
	t.log.Debug().Str("ref", e.ref.Short()).Int64("size", e.size).Msg("evict")
	t.retire(hotName(e.ref), e.size)
	return true
}

// drop deletes a pool file for good.
func (t *Tier) drop(f *poolFile) {
	t.pool.remove(f)
	_ = t.removeFile(f.name)
}

// retire takes a file whose bytes the caller has just released from the
// accounting: it joins the pool when recycling is on and no client holds
// it, else it is unlinked (a client's mapping stays valid either way).
func (t *Tier) retire(name string, n int64) {
	if t.cfg.RecycleBytes < 0 || n == 0 || !t.toPool(name, n) {
		_ = t.removeFile(name)
	}
}

// toPool renames name to a pool name if no client holds it. The exclusive
// lock, held across the rename, proves that no client had the file mapped
// and that any client that opens the old name afterwards finds another
// file there (or none), which OpenView rejects.
func (t *Tier) toPool(name string, n int64) bool {
	f, err := os.Open(t.path(name))
	if err != nil {
		return false
	}
	defer f.Close() // releases the lock
	if ok, err := tryLock(f, lockEx); !ok || err != nil {
		return false
	}
	pname := t.seqName(poolPrefix)
	if err := os.Rename(t.path(name), t.path(pname)); err != nil {
		t.log.Warn().Err(err).Str("file", name).Msg("rename to pool")
		return false
	}
	if err := f.Chmod(modeWritable); err != nil {
		_ = t.removeFile(pname)
		return false
	}
	t.pool.push(&poolFile{name: pname, size: n})
	return true
}

// trimPool drops the oldest pool files beyond RecycleBytes.
func (t *Tier) trimPool() {
	for t.pool.bytes > max(t.cfg.RecycleBytes, 0) {
		t.drop(t.pool.files[0])
	}
}

// openFile returns a file of n bytes named name for the caller to fill:
// pf's file renamed and resized when given, else a fresh one; see setSize
// for allocate.
func (t *Tier) openFile(name string, n int64, pf *poolFile, allocate bool) (*os.File, error) {
	if pf != nil {
		if err := os.Rename(t.path(pf.name), t.path(name)); err != nil {
			_ = t.removeFile(pf.name)
			pf = nil
		} else {
			t.recycled++
		}
	}
	flag := os.O_RDWR | os.O_CREATE | os.O_EXCL
	if pf != nil {
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(t.path(name), flag, modeWritable)
	if err != nil {
		return nil, noSpace(fmt.Errorf("shm file: %w", err))
	}
	if err := setSize(f, n, allocate); err != nil {
		f.Close()
		_ = t.removeFile(name)
		return nil, err
	}
	return f, nil
}
