package shm

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// fillMethod fills f (n bytes long, fresh or recycled) from src.
type fillMethod struct {
	name string
	fill func(b *testing.B, f *os.File, src []byte)
}

var fillMethods = []fillMethod{
	{"pwrite", func(b *testing.B, f *os.File, src []byte) { rawPwrite(b, f, src) }},
	{"fallocate-pwrite", func(b *testing.B, f *os.File, src []byte) {
		if err := unix.Fallocate(int(f.Fd()), 0, 0, int64(len(src))); err != nil {
			b.Fatal(err)
		}
		rawPwrite(b, f, src)
	}},
	{"mmap", func(b *testing.B, f *os.File, src []byte) { rawMap(b, f, src, 0) }},
	{"mmap-populate", func(b *testing.B, f *os.File, src []byte) { rawMap(b, f, src, unix.MAP_POPULATE) }},
}

// BenchmarkFillMethods: the ways to fill a shared-memory file, on a fresh
// file (pages the host has not backed since the cool-down), on a fresh file
// right after another was deleted (just-freed pages), and on a recycled
// file (pages still in the file), against memcpy into touched memory. Raw
// system calls, no tier: this is what decided the tier's design.
func BenchmarkFillMethods(b *testing.B) {
	n := benchSize()
	dir := shmDir(b)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	src, dst := touched(n), touched(n)
	ms := map[string]*meter{"memcpy": {}, "warm-pwrite": {}}
	for _, m := range fillMethods {
		ms["fresh-"+m.name], ms["recycled-"+m.name] = &meter{}, &meter{}
	}
	seq, keep := 0, &held{b: b}
	fresh := func() *os.File {
		seq++
		path := filepath.Join(dir, fmt.Sprint(seq))
		keep.add(n, func() { os.Remove(path) })
		return rawFile(b, path, n)
	}
	coolDown()
	b.ResetTimer()
	for range b.N {
		for _, m := range fillMethods {
			f := fresh() // kept until the end, so no later file reuses its pages
			ms["fresh-"+m.name].time(func() { m.fill(b, f, src) })
			ms["recycled-"+m.name].time(func() { m.fill(b, f, src) })
			f.Close()
		}
		ms["memcpy"].time(func() { copy(dst, src) })
	}
	for range b.N { // last: the pages these free would warm later fresh files
		warmPwrite(b, dir, src, ms["warm-pwrite"])
	}
	b.StopTimer()
	report(b, n, ms)
	b.ReportMetric(ratio(ms["fresh-pwrite"], ms["recycled-pwrite"]), "fresh/recycled-pwrite")
	b.ReportMetric(ratio(ms["recycled-pwrite"], ms["memcpy"]), "recycled-pwrite/memcpy")
}

// warmPwrite fills a file, deletes it, and times filling a new one at once:
// the new file gets the pages just freed.
func warmPwrite(b *testing.B, dir string, src []byte, m *meter) {
	path := filepath.Join(dir, "warm")
	f := rawFile(b, path, int64(len(src)))
	rawPwrite(b, f, src)
	f.Close()
	os.Remove(path)
	f = rawFile(b, path, int64(len(src)))
	defer os.Remove(path)
	defer f.Close()
	m.time(func() { rawPwrite(b, f, src) })
}

func rawFile(b *testing.B, path string, n int64) *os.File {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err == nil {
		err = f.Truncate(n)
	}
	if err != nil {
		b.Fatal(err)
	}
	return f
}

func rawPwrite(b *testing.B, f *os.File, src []byte) {
	for off := 0; off < len(src); off += copyBuf {
		if _, err := f.WriteAt(src[off:min(off+copyBuf, len(src))], int64(off)); err != nil {
			b.Fatal(err)
		}
	}
}

func rawMap(b *testing.B, f *os.File, src []byte, flags int) {
	m, err := unix.Mmap(int(f.Fd()), 0, len(src), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|flags)
	if err != nil {
		b.Fatal(err)
	}
	copy(m, src)
	if err := unix.Munmap(m); err != nil {
		b.Fatal(err)
	}
}
