package shm

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkViewRead: a local client's get of a hot object (Acquire,
// OpenView, read every byte, Close; ns/op is this) against, in the same
// run: the same without MAP_POPULATE, a memcpy of the same size into
// memory already touched, reading an in-process buffer, ReadHot (pread
// into a touched buffer) then reading it, and a view opened and read by a
// separate client process. The first
// view and the first ReadHot into a buffer are reported apart (first-*):
// on a VM the first access to a page through a new mapping, and the
// kernel's first write into a user buffer, cost page-table work.
// view/memcpy under 1 would mean the view costs less than one copy.
func BenchmarkViewRead(b *testing.B) {
	n := benchSize()
	tier := newTier(b, Config{Capacity: n + mib})
	src, dst := touched(n), touched(n)
	ref := testRef(1)
	makeHot(b, tier, ref, src)
	ms := map[string]*meter{"view": {}, "memcpy": {}, "read": {}, "pread": {},
		"first-view": {}, "first-pread": {}, "view-nopopulate": {}}
	ms["first-view"].time(func() { readView(b, tier, ref, true) })
	ms["first-pread"].time(func() { readHotCopy(b, tier, ref, dst) })
	copy(dst, src)
	readAll(src)
	b.SetBytes(n)
	b.ResetTimer()
	for range b.N {
		ms["view"].time(func() { readView(b, tier, ref, true) })
		b.StopTimer()
		ms["view-nopopulate"].time(func() { readView(b, tier, ref, false) })
		ms["memcpy"].time(func() { copy(dst, src) })
		ms["read"].time(func() { readAll(src) })
		ms["pread"].time(func() { readHotCopy(b, tier, ref, dst) })
		b.StartTimer()
	}
	b.StopTimer()
	if !bytes.Equal(dst, src) {
		b.Fatal("ReadHot read wrong bytes")
	}
	ms["child-view"] = childView(b, tier, ref)
	report(b, n, ms)
	for _, name := range []string{"view", "view-nopopulate", "pread", "child-view"} {
		b.ReportMetric(ratio(ms[name], ms["memcpy"]), name+"/memcpy")
	}
}

func readHotCopy(b *testing.B, tier *Tier, ref [32]byte, dst []byte) {
	path, size, err := tier.Acquire(ref)
	if err != nil {
		b.Fatal(err)
	}
	if err := ReadHot(path, size, dst); err != nil {
		b.Fatal(err)
	}
	readAll(dst[:size])
}

func readView(b *testing.B, tier *Tier, ref [32]byte, populate bool) {
	path, size, err := tier.Acquire(ref)
	if err != nil {
		b.Fatal(err)
	}
	v, err := openView(path, size, populate)
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	readAll(v.Bytes())
}

// childView has a client process that never mapped the file open a view
// and read it; the child times itself, so process start is not counted.
func childView(b *testing.B, tier *Tier, ref [32]byte) *meter {
	path, size, _ := tier.Acquire(ref)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=time", "SHM_PATH="+path,
		"SHM_SIZE="+strconv.FormatInt(size, 10))
	out, err := cmd.Output()
	if err != nil {
		b.Fatal("child view: ", err)
	}
	line, _ := bufio.NewReader(bytes.NewReader(out)).ReadString('\n')
	ns, err := strconv.ParseInt(strings.TrimSpace(line), 10, 64)
	if err != nil {
		b.Fatalf("child view printed %q", out)
	}
	return &meter{total: time.Duration(ns), n: 1}
}

// BenchmarkUploadFill: a local client's put of an object it holds in
// memory, through the package's API: filling a fresh upload file (pwrite,
// or a writable mapping) against filling one that recycles an evicted
// file's pages, against a memcpy into touched memory. fresh/recycled is
// what the recycle pool saves.
func BenchmarkUploadFill(b *testing.B) {
	n := benchSize()
	src, dst := touched(n), touched(n)
	fresh := newTier(b, Config{Capacity: heldLimit + 2*n, RecycleBytes: -1})
	rec := pooledTier(b, n, src)
	ms := map[string]*meter{"fresh-pwrite": {}, "fresh-mmap": {}, "recycled-pwrite": {},
		"recycled-mmap": {}, "memcpy": {}}
	fills := map[string]func(*testing.B, Upload, []byte){"fresh-pwrite": fillPwrite, "fresh-mmap": fillMap}
	keep := &held{b: b}
	coolDown()
	b.ResetTimer()
	for range b.N {
		for _, name := range []string{"fresh-pwrite", "fresh-mmap"} {
			var up Upload
			ms[name].time(func() {
				up = createUpload(b, fresh, n)
				fills[name](b, up, src)
			})
			keep.add(n, func() { fresh.DropUpload(up.Name) })
		}
		recycle(b, rec, n, ms["recycled-pwrite"], func(up Upload) { fillPwrite(b, up, src) })
		recycle(b, rec, n, ms["recycled-mmap"], func(up Upload) { fillMap(b, up, src) })
		ms["memcpy"].time(func() { copy(dst, src) })
	}
	b.StopTimer()
	report(b, n, ms)
	b.ReportMetric(ratio(ms["fresh-pwrite"], ms["recycled-pwrite"]), "fresh/recycled-pwrite")
	b.ReportMetric(ratio(ms["recycled-pwrite"], ms["memcpy"]), "recycled-pwrite/memcpy")
	b.ReportMetric(ratio(ms["fresh-pwrite"], ms["memcpy"]), "fresh-pwrite/memcpy")
}

// pooledTier returns a tier with two n-byte files in its pool, their
// pages written once.
func pooledTier(b *testing.B, n int64, src []byte) *Tier {
	tier := newTier(b, Config{Capacity: 2*n + mib, RecycleBytes: 2 * n})
	ups := []Upload{createUpload(b, tier, n), createUpload(b, tier, n)}
	for _, up := range ups {
		fillPwrite(b, up, src)
		tier.DropUpload(up.Name)
	}
	if tier.Stats().PoolFiles != 2 {
		b.Fatal("pool not filled")
	}
	return tier
}

// recycle times CreateUpload (which must reuse a pool file) plus fill, then
// drops the upload back into the pool.
func recycle(b *testing.B, tier *Tier, n int64, m *meter, fill func(Upload)) {
	before := tier.Stats().Recycled
	var up Upload
	m.time(func() {
		up = createUpload(b, tier, n)
		fill(up)
	})
	if tier.Stats().Recycled != before+1 {
		b.Fatal("upload did not recycle a pool file")
	}
	if err := tier.DropUpload(up.Name); err != nil {
		b.Fatal(err)
	}
}

func createUpload(b *testing.B, tier *Tier, n int64) Upload {
	up, err := tier.CreateUpload(n)
	if err != nil {
		b.Fatal(err)
	}
	return up
}

func fillPwrite(b *testing.B, up Upload, src []byte) {
	if _, err := WriteUpload(up.Path, bytes.NewReader(src)); err != nil {
		b.Fatal(err)
	}
}

func fillMap(b *testing.B, up Upload, src []byte) {
	m, err := MapUpload(up.Path, up.Size)
	if err != nil {
		b.Fatal(err)
	}
	copy(m.Bytes(), src)
	if err := m.Close(); err != nil {
		b.Fatal(err)
	}
}
