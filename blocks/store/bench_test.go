package store

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/emerge-dev/emerge/blocks"
)

// BenchmarkStore measures Badger through the Store alone, with the default
// config, the reference figure for the node benchmarks: PutBlock and
// GetBlock of 4 KiB and 1 MiB blocks, one caller and one caller per CPU
// (RunParallel). Ids are synthetic (PutBlock trusts them), so no hashing is
// timed.
//
//	go test -run '^$' -bench BenchmarkStore -benchtime 2s ./blocks
func BenchmarkStore(b *testing.B) {
	for _, size := range []int{4 << 10, 1 << 20} {
		name := fmt.Sprintf("%dKiB", size>>10)
		b.Run("put-"+name, func(b *testing.B) { benchPut(b, size, false) })
		b.Run("put-parallel-"+name, func(b *testing.B) { benchPut(b, size, true) })
		b.Run("get-"+name, func(b *testing.B) { benchGet(b, size, false) })
		b.Run("get-parallel-"+name, func(b *testing.B) { benchGet(b, size, true) })
	}
}

func benchStore(b *testing.B) *Store {
	cfg := DefaultConfig(b.TempDir())
	cfg.GCInterval = -1
	s, err := Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func syntheticID(n uint64) (id blocks.ID) {
	binary.BigEndian.PutUint64(id[:], n)
	id[31] = 0xee
	return id
}

func benchPut(b *testing.B, size int, parallel bool) {
	s := benchStore(b)
	data := randomBytes(newRand(b), size)
	var next atomic.Uint64
	put := func() {
		if err := s.PutBlock(syntheticID(next.Add(1)), data); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(size))
	b.ResetTimer()
	if parallel {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				put()
			}
		})
	} else {
		for i := 0; i < b.N; i++ {
			put()
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "blocks/s")
}

func benchGet(b *testing.B, size int, parallel bool) {
	s := benchStore(b)
	data := randomBytes(newRand(b), size)
	n := uint64(min(4096, (256<<20)/size)) // a working set of at most 256 MiB
	for i := uint64(0); i < n; i++ {
		if err := s.PutBlock(syntheticID(i), data); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Uint64
	b.SetBytes(int64(size))
	b.ResetTimer()
	get := func(dst []byte) []byte {
		dst, err := s.GetBlock(syntheticID(next.Add(1)%n), dst)
		if err != nil || len(dst) != size {
			b.Fatalf("GetBlock: %d bytes, %v", len(dst), err)
		}
		return dst
	}
	if parallel {
		b.RunParallel(func(pb *testing.PB) {
			dst := make([]byte, size)
			for pb.Next() {
				dst = get(dst)
			}
		})
	} else {
		dst := make([]byte, size)
		for i := 0; i < b.N; i++ {
			dst = get(dst)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "blocks/s")
}
