package store

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/emerge-dev/emerge/blocks"
)

// BenchmarkStoreCommitParallel puts 4 KiB single-block objects the way
// files.Upload does (Pin, PutBlock, Commit, Release) from g goroutines,
// then, in the same run, writes the same keys and values (block, use,
// manifest) to a bare Badger database with the store's options, one
// db.Update per object from as many goroutines. It reports ops/s,
// badger-ops/s and store/badger (1 would be no overhead over Badger).
//
//	go test -run '^$' -bench StoreCommitParallel -count 5 ./blocks/
func BenchmarkStoreCommitParallel(b *testing.B) {
	for _, g := range []int{1, 50} {
		b.Run(fmt.Sprintf("g=%d", g), func(b *testing.B) { benchCommitParallel(b, g) })
	}
}

func benchCommitParallel(b *testing.B, g int) {
	s := benchStore(b)
	b.ResetTimer()
	ops := benchWorkers(b, g, b.N, func(w *benchObject) error {
		s.Pin(w.id)
		if err := s.PutBlock(w.id, w.data); err != nil {
			return err
		}
		if err := s.Commit(w.ref, &w.m, UseOwner); err != nil {
			return err
		}
		_, err := s.Release(w.id)
		return err
	})
	b.StopTimer()
	b.ReportMetric(ops, "ops/s")
	dir := b.TempDir()
	db, err := badger.Open(s.cfg.badgerOptions().WithDir(dir).WithValueDir(dir))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ref := benchWorkers(b, g, b.N, func(w *benchObject) error {
		return db.Update(func(txn *badger.Txn) error {
			if err := txn.Set(blockKey(w.id), w.data); err != nil {
				return err
			}
			if err := txn.Set(useKey(w.id, w.ref), encodeUse(UseOwner, time.Now())); err != nil {
				return err
			}
			return txn.Set(manifestKey(w.ref), append([]byte{byte(UseOwner)}, w.rec...))
		})
	})
	b.ReportMetric(ref, "badger-ops/s")
	b.ReportMetric(ops/ref, "store/badger")
}

// benchObject is one worker's current object: a fresh 4 KiB block under a
// synthetic id (no hashing is timed) and its manifest.
type benchObject struct {
	data []byte
	id   blocks.ID
	m    blocks.Manifest
	ref  blocks.Ref
	rec  []byte
}

func (o *benchObject) next(i uint64) error {
	binary.LittleEndian.PutUint64(o.data, i)
	o.id = syntheticID(i)
	o.m = blocks.Manifest{Size: int64(len(o.data)), BlockSize: blocks.MinBlockSize, Blocks: []blocks.ID{o.id}, Replicas: 1,
		Created: time.Unix(1_900_000_000, 0).UTC()}
	var err error
	if o.ref, err = o.m.Ref(); err != nil {
		return err
	}
	o.rec, err = o.m.MarshalRecord()
	return err
}

// benchWorkers runs op for objects 1..n from g goroutines and returns the
// rate in objects per second. Building each object (a manifest hash and
// encoding) is timed on both sides of the comparison.
func benchWorkers(b *testing.B, g, n int, op func(*benchObject) error) float64 {
	var (
		next   atomic.Uint64
		wg     sync.WaitGroup
		failed atomic.Pointer[error]
	)
	objs := make([]benchObject, g)
	for w := range objs {
		objs[w].data = randomBytes(newRand(b), 4<<10)
	}
	start := time.Now()
	for w := 0; w < g; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := &objs[w]
			for i := next.Add(1); i <= uint64(n) && failed.Load() == nil; i = next.Add(1) {
				err := o.next(i)
				if err == nil {
					err = op(o)
				}
				if err != nil {
					failed.CompareAndSwap(nil, &err)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if errp := failed.Load(); errp != nil {
		b.Fatal(*errp)
	}
	return float64(n) / elapsed.Seconds()
}
