package shm

import (
	"encoding/binary"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// benchSize is the object size of the benchmarks: 256 MiB, or 1 GiB with
// EMERGE_LONG=1.
func benchSize() int64 {
	if os.Getenv("EMERGE_LONG") == "1" {
		return 1 << 30
	}
	return 256 * mib
}

// heldLimit bounds the fresh files a fill benchmark keeps until it ends.
const heldLimit = 4 << 30

// held keeps a fill benchmark's fresh files until it ends, so that later
// fresh files do not land on their just-freed pages. Past heldLimit it
// frees the oldest, and says so: later fresh figures may be optimistic.
type held struct {
	b       *testing.B
	release []func()
	sizes   []int64
	bytes   int64
}

func (h *held) add(n int64, release func()) {
	h.release, h.sizes, h.bytes = append(h.release, release), append(h.sizes, n), h.bytes+n
	for h.bytes > heldLimit && len(h.release) > 1 {
		h.b.Log("fresh files over the held limit: later fresh figures may be optimistic")
		h.release[0]()
		h.bytes -= h.sizes[0]
		h.release, h.sizes = h.release[1:], h.sizes[1:]
	}
}

// touched returns n bytes already written once, so that copies into or out
// of them run at memory speed.
func touched(n int64) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

// sink keeps the compiler from dropping reads whose result is unused.
var sink atomic.Uint64

// readAll reads every byte of b: "reading the object".
func readAll(b []byte) { sink.Add(sumWords(b)) }

// sumWords adds up b a word at a time.
func sumWords(b []byte) uint64 {
	var s0, s1, s2, s3 uint64
	for len(b) >= 32 {
		s0 += binary.LittleEndian.Uint64(b)
		s1 += binary.LittleEndian.Uint64(b[8:])
		s2 += binary.LittleEndian.Uint64(b[16:])
		s3 += binary.LittleEndian.Uint64(b[24:])
		b = b[32:]
	}
	for _, c := range b {
		s0 += uint64(c)
	}
	return s0 + s1 + s2 + s3
}

// coolDown waits out the kernel's free-page reporting delay (2 s), after
// which pages freed by earlier benchmarks are back with the host and a
// fresh file costs what it costs a node that evicted seconds ago. This is
// a measurement condition, not synchronisation.
func coolDown() { time.Sleep(3 * time.Second) }

// meter accumulates the time of one measured operation.
type meter struct {
	total time.Duration
	n     int
}

func (m *meter) time(f func()) {
	start := time.Now()
	f()
	m.total += time.Since(start)
	m.n++
}

func (m *meter) gbps(bytes int64) float64 {
	return float64(bytes) * float64(m.n) / m.total.Seconds() / 1e9
}

// ratio is how many times longer a took than b on average.
func ratio(a, b *meter) float64 {
	return (a.total.Seconds() / float64(a.n)) / (b.total.Seconds() / float64(b.n))
}

func report(b *testing.B, n int64, ms map[string]*meter) {
	for name, m := range ms {
		if m.n > 0 {
			b.ReportMetric(m.gbps(n), name+"-GB/s")
		}
	}
}
