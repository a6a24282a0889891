package blocks

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/zeebo/blake3"
)

// BenchmarkHash compares BLAKE3-256 with SHA-256 over block sizes:
// blake3 is blake3.Sum256 from github.com/zeebo/blake3 (what Sum uses; it
// does not allocate); blake3-reused resets one hasher; sha256 is crypto/sha256 (SHA-NI
// on the target machine). Each BLAKE3 run also times SHA-256 over the same
// bytes and reports speedup-vs-sha256 (SHA-256 time / BLAKE3 time, > 1 when
// BLAKE3 is faster), measured in the same run.
//
//	go test -run '^$' -bench BenchmarkHash -benchmem ./blocks
func BenchmarkHash(b *testing.B) {
	for _, size := range []int{4 << 10, 64 << 10, 1 << 20} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(i * 7)
		}
		name := fmt.Sprintf("%dKiB", size>>10)
		b.Run(name+"/blake3", func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				blake3.Sum256(data)
			}
			b.StopTimer()
			b.ReportMetric(sha256PerOp(data, b.N)/perOp(b.Elapsed(), b.N), "speedup-vs-sha256")
		})
		b.Run(name+"/blake3-reused", func(b *testing.B) {
			b.SetBytes(int64(size))
			h := blake3.New()
			var sum [32]byte
			for b.Loop() {
				h.Reset()
				h.Write(data)
				h.Sum(sum[:0])
			}
			b.StopTimer()
			b.ReportMetric(sha256PerOp(data, b.N)/perOp(b.Elapsed(), b.N), "speedup-vs-sha256")
		})
		b.Run(name+"/sha256", func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				sha256.Sum256(data)
			}
		})
	}
}

// sha256PerOp times n SHA-256 sums of data (outside the benchmark timer).
func sha256PerOp(data []byte, n int) float64 {
	start := time.Now()
	for i := 0; i < n; i++ {
		sha256.Sum256(data)
	}
	return perOp(time.Since(start), n)
}

func perOp(d time.Duration, n int) float64 {
	if n == 0 {
		return 0
	}
	return float64(d.Nanoseconds()) / float64(n)
}
