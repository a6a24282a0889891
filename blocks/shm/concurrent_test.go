package shm

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/emerge-dev/emerge/blocks"
)

// TestConcurrent runs clients and writers at once on a small tier. Every
// view must read its ref's content even while copies are evicted and their
// pages recycled; at the end the files match the accounting. Run it with
// -race.
func TestConcurrent(t *testing.T) {
	tier := newTier(t, Config{Capacity: 6 * mib, RecycleBytes: 3 * mib})
	data := make([][]byte, 12)
	for i := range data {
		data[i] = content(testRef(i), int64(i+1)*mib/4)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 9))
			for range 150 {
				i := rng.IntN(len(data))
				if err := concurrentOp(tier, rng.IntN(5), testRef(i), data[i]); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if st := tier.Stats(); st.Evictions == 0 || st.Recycled == 0 || st.Uploads != 0 {
		t.Errorf("too little happened: %+v", st)
	}
}

func concurrentOp(tier *Tier, op int, ref blocks.Ref, data []byte) error {
	switch op {
	case 0, 1:
		path, n, err := tier.Acquire(ref)
		if err != nil {
			return ignore(err, ErrNotFound)
		}
		v, err := OpenView(path, n)
		if err != nil {
			return ignore(err, ErrStale)
		}
		defer v.Close()
		if !bytes.Equal(v.Bytes(), data) {
			return errors.New("a view read another object's bytes")
		}
	case 2:
		w, err := tier.Create(ref, int64(len(data)))
		if err != nil {
			return ignore(err, ErrExists, ErrNoSpace)
		}
		defer w.Abort()
		if _, err := w.Write(data); err != nil {
			return err
		}
		return w.Seal()
	case 3:
		return ignore(tier.Remove(ref), ErrNotFound)
	case 4:
		return ignore(putLocal(tier, ref, data), ErrNoSpace)
	}
	return nil
}

// putLocal is a client's put through an upload, committed as ref.
func putLocal(tier *Tier, ref blocks.Ref, data []byte) error {
	up, err := tier.CreateUpload(int64(len(data)))
	if err != nil {
		return err
	}
	if _, err := WriteUpload(up.Path, bytes.NewReader(data)); err != nil {
		return err
	}
	f, _, err := tier.SealUpload(up.Name)
	if err != nil {
		return err
	}
	f.Close()
	return tier.CommitUpload(up.Name, ref)
}

func ignore(err error, expected ...error) error {
	for _, e := range expected {
		if errors.Is(err, e) {
			return nil
		}
	}
	return err
}
