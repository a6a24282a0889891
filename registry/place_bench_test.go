package registry

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/zeebo/blake3"
)

// BenchmarkPlace measures Place for 3 owners among 16 and 256 members and
// reports its speed against a reference that scores with BLAKE3(key || id)
// instead of the 64-bit mix, measured in the same run
// (metric x-faster-than-blake3).
func BenchmarkPlace(b *testing.B) {
	for _, n := range []int{16, 256} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			ms, keys := nodes(n), benchKeys()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				_ = Place(keys[i%len(keys)], ms, 3)
				i++
			}
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(refPlaceNs(ms, keys)/ns, "x-faster-than-blake3")
		})
	}
}

// BenchmarkOwners is the per-block path through a registry: the cached
// live slice, then Place.
func BenchmarkOwners(b *testing.B) {
	r := newReg(b, "node-00", newClock())
	r.MergeAll(nodes(256))
	keys := benchKeys()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = r.Owners(keys[i%len(keys)], 3)
		i++
	}
}

func BenchmarkRank(b *testing.B) {
	ms, keys := nodes(256), benchKeys()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = Rank(keys[i%len(keys)], ms)
		i++
	}
}

func benchKeys() [][32]byte {
	keys := make([][32]byte, 1024)
	for i := range keys {
		keys[i] = hashedKey(i)
	}
	return keys
}

// refPlaceNs times refPlace (BLAKE3 scores, same selection) per call.
func refPlaceNs(ms []Member, keys [][32]byte) float64 {
	const calls = 2000
	start := time.Now()
	for i := range calls {
		_ = refPlace(keys[i%len(keys)], ms, 3)
	}
	return float64(time.Since(start).Nanoseconds()) / calls
}

func refPlace(key [32]byte, ms []Member, n int) []Member {
	var buf [32 + MaxString]byte
	copy(buf[:], key[:])
	top := make([]scored, 0, n)
	for i := range ms {
		l := copy(buf[32:], ms[i].ID)
		sum := blake3.Sum256(buf[:32+l])
		top = pushTop(top, n, scored{binary.LittleEndian.Uint64(sum[:]), i}, ms)
	}
	out := make([]Member, len(top))
	for i, s := range top {
		out[i] = ms[s.i]
	}
	return out
}
