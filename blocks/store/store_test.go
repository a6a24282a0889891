package store

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/rs/zerolog"
)

func TestStoreConfigValidation(t *testing.T) {
	dir := t.TempDir()
	for name, cfg := range map[string]Config{
		"no dir":             {},
		"dir and in memory":  {Dir: dir, InMemory: true},
		"tiny value log":     {Dir: dir, ValueLogFileSize: 1 << 19},
		"huge value log":     {Dir: dir, ValueLogFileSize: 2 << 30},
		"tiny memtable":      {Dir: dir, MemTableSize: 1 << 19},
		"negative cache":     {Dir: dir, BlockCacheSize: -1},
		"negative grace":     {Dir: dir, PendingGrace: -time.Second},
		"negative tombstone": {Dir: dir, TombstoneTTL: -time.Second},
	} {
		s, err := Open(cfg)
		if err == nil {
			s.Close()
			t.Errorf("%s: OpenStore accepted %+v", name, cfg)
			continue
		}
		if !errors.Is(err, blocks.ErrInvalidArgument) {
			t.Errorf("%s: %v is not ErrInvalidArgument", name, err)
		}
	}
}

func TestStoreConfigDefaults(t *testing.T) {
	c := DefaultConfig("/x")
	if c.ValueLogFileSize != 256<<20 || c.MemTableSize != 32<<20 || c.BlockCacheSize != 32<<20 ||
		c.GCInterval != 5*time.Minute || c.PendingGrace != time.Hour || c.TombstoneTTL != 24*time.Hour ||
		c.DiskReserve != 2*(256<<20)+4*(32<<20) || c.Clock == nil {
		t.Fatalf("defaults: %+v", c)
	}
	if err := c.validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
}

func TestStoreCloseIdempotentAndClosedErrors(t *testing.T) {
	s, err := Open(Config{InMemory: true, GCInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	var id blocks.ID
	calls := map[string]error{
		"PutBlock":     s.PutBlock(id, nil),
		"Commit":       s.Commit(blocks.Ref{}, &blocks.Manifest{}, UseOwner),
		"Reserve":      s.Reserve(blocks.Ref{}, nil, UseOwner),
		"PutMeta":      s.PutMeta("k", nil),
		"ReclaimSpace": s.ReclaimSpace(),
	}
	_, calls["GetBlock"] = s.GetBlock(id, nil)
	_, calls["HasBlocks"] = s.HasBlocks([]blocks.ID{id})
	_, calls["BlockSize"] = s.BlockSize(id)
	_, _, calls["Manifest"] = s.Manifest(blocks.Ref{})
	_, calls["Delete"] = s.Delete(blocks.Ref{}, time.Time{})
	_, _, calls["Tombstone"] = s.Tombstone(blocks.Ref{})
	_, calls["List"] = s.List(blocks.Ref{}, 1)
	_, calls["Sweep"] = s.Sweep()
	_, calls["Stats"] = s.Stats()
	_, calls["GetMeta"] = s.GetMeta("k")
	for name, err := range calls {
		if !errors.Is(err, blocks.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
	s.Pin(id) // in memory: harmless after Close
	s.Unpin(id)
}

func TestStoreBlocks(t *testing.T) {
	s := openStore(t, testConfig(t, newTestClock()))
	rng := newRand(t)
	data := randomBytes(rng, 100_000)
	id := blocks.Sum(data)
	if err := s.PutBlock(id, data); err != nil {
		t.Fatal(err)
	}
	if err := s.PutBlock(id, data); err != nil { // present: no-op
		t.Fatal(err)
	}
	got, err := s.GetBlock(id, nil)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("GetBlock: %v, equal=%v", err, bytes.Equal(got, data))
	}
	dst := make([]byte, 10, 200_000)
	got, err = s.GetBlock(id, dst)
	if err != nil || !bytes.Equal(got, data) || &got[0] != &dst[0] {
		t.Fatalf("GetBlock into a big dst: err %v, reused %v", err, &got[0] == &dst[0])
	}
	if n, err := s.BlockSize(id); err != nil || n != len(data) {
		t.Fatalf("BlockSize: %d, %v", n, err)
	}
	small := []byte("tiny block kept in the LSM tree")
	if err := s.PutBlock(blocks.Sum(small), small); err != nil {
		t.Fatal(err)
	}
	if n, err := s.BlockSize(blocks.Sum(small)); err != nil || n != len(small) {
		t.Fatalf("BlockSize small: %d, %v", n, err)
	}
	unknown := blocks.Sum([]byte("never stored"))
	_, err = s.GetBlock(unknown, nil)
	wantErr(t, err, blocks.ErrNotFound, "GetBlock unknown")
	_, err = s.BlockSize(unknown)
	wantErr(t, err, blocks.ErrNotFound, "BlockSize unknown")
	has, err := s.HasBlocks([]blocks.ID{id, unknown, blocks.Sum(small)})
	if err != nil || !has[0] || has[1] || !has[2] {
		t.Fatalf("HasBlocks: %v %v", has, err)
	}
	st, _ := s.Stats()
	if st.Blocks != 2 || st.BlockBytes != int64(len(data)+len(small)) {
		t.Fatalf("stats after a duplicate put: %+v", st)
	}
}

func TestStoreBlockLimits(t *testing.T) {
	cfg := testConfig(t, newTestClock())
	cfg.ValueLogFileSize = 1 << 20
	s := openStore(t, cfg)
	big := make([]byte, 1<<20+1)
	wantErr(t, s.PutBlock(blocks.Sum(big), big), blocks.ErrBadBlockSize, "block larger than a value-log file")
	if err := s.PutBlock(blocks.Sum(nil), nil); err != nil {
		t.Fatalf("empty block: %v", err)
	}
	if got, err := s.GetBlock(blocks.Sum(nil), nil); err != nil || len(got) != 0 {
		t.Fatalf("empty block back: %q %v", got, err)
	}

	mem, err := Open(Config{InMemory: true, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	under := make([]byte, 1<<20-1)
	if err := mem.PutBlock(blocks.Sum(under), under); err != nil {
		t.Fatalf("1 MiB - 1 block in memory: %v", err)
	}
	mib := make([]byte, 1<<20)
	wantErr(t, mem.PutBlock(blocks.Sum(mib), mib), blocks.ErrBadBlockSize, "in-memory block of 1 MiB")
}

func TestStoreConcurrentPutBlock(t *testing.T) {
	s := openStore(t, testConfig(t, newTestClock()))
	rng := newRand(t)
	data := make([][]byte, 32)
	for i := range data {
		data[i] = randomBytes(rng, 2000+i*100)
	}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := range data {
				b := data[(i+w)%len(data)]
				if err := s.PutBlock(blocks.Sum(b), b); err != nil {
					t.Errorf("PutBlock: %v", err)
				}
			}
		}(w)
	}
	wg.Wait()
	var want int64
	for _, b := range data {
		want += int64(len(b))
	}
	st, _ := s.Stats()
	if st.Blocks != int64(len(data)) || st.BlockBytes != want {
		t.Fatalf("stats after concurrent duplicate puts: %+v, want %d data, %d bytes", st, len(data), want)
	}
}

func TestStoreMeta(t *testing.T) {
	cfg := testConfig(t, newTestClock())
	s := openStore(t, cfg)
	_, err := s.GetMeta("node-id")
	wantErr(t, err, blocks.ErrNotFound, "GetMeta unknown")
	wantErr(t, s.PutMeta("", []byte("x")), blocks.ErrInvalidArgument, "empty name")
	wantErr(t, s.PutMeta(string(make([]byte, MaxMetaName+1)), nil), blocks.ErrInvalidArgument, "long name")
	big := bytes.Repeat([]byte("registry "), 10_000)
	for _, v := range [][]byte{[]byte("first"), []byte("second"), big} {
		if err := s.PutMeta("node-id", v); err != nil {
			t.Fatal(err)
		}
		if got, err := s.GetMeta("node-id"); err != nil || !bytes.Equal(got, v) {
			t.Fatalf("GetMeta: %d bytes, %v", len(got), err)
		}
	}
	s.Close()
	s = openStore(t, cfg)
	if got, err := s.GetMeta("node-id"); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("GetMeta after reopen: %d bytes, %v", len(got), err)
	}
}

func TestStoreList(t *testing.T) {
	clock := newTestClock()
	s := openStore(t, testConfig(t, clock))
	rng := newRand(t)
	want := map[blocks.Ref]testObject{}
	for i := 0; i < 25; i++ {
		o := newObject(t, randomBlocks(rng, i%3, 10+i), clock.Advance(time.Second))
		o.m.Meta = map[string]string{"i": fmt.Sprint(i)}
		o.ref, _ = o.m.Ref()
		use := UseOwner
		if i%2 == 1 {
			use = UseCache
		}
		putObject(t, s, o, use)
		want[o.ref] = o
	}
	var all []ObjectInfo
	var after blocks.Ref
	for {
		page, err := s.List(after, 7)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 7 {
			t.Fatalf("page of %d", len(page))
		}
		if len(page) == 0 {
			break
		}
		all = append(all, page...)
		after = page[len(page)-1].Ref
	}
	if len(all) != len(want) {
		t.Fatalf("listed %d objects, want %d", len(all), len(want))
	}
	for i, info := range all {
		if i > 0 && bytes.Compare(all[i-1].Ref[:], info.Ref[:]) >= 0 {
			t.Fatalf("not in ref order at %d", i)
		}
		o := want[info.Ref]
		if o.m == nil || info.Size != o.m.Size || info.Blocks != len(o.m.Blocks) || info.BlockSize != testBlockSize ||
			info.Replicas != 2 || !info.Created.Equal(o.m.Created) || info.ContentType != "application/test" ||
			(info.Use != UseOwner && info.Use != UseCache) {
			t.Fatalf("info %+v does not match the object", info)
		}
	}
	if page, _ := s.List(blocks.Ref{}, 0); len(page) != len(want) {
		t.Fatalf("limit 0 means MaxList: got %d", len(page))
	}
}

func TestStoreStats(t *testing.T) {
	clock := newTestClock()
	s := openStore(t, testConfig(t, clock))
	rng := newRand(t)
	o := newObject(t, randomBlocks(rng, 3, 500), clock.Now())
	putObject(t, s, o, UseOwner)
	s.Pin(blocks.Sum([]byte("a")), blocks.Sum([]byte("b")), blocks.Sum([]byte("a")))
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Objects != 1 || st.Blocks != 4 || st.BlockBytes != o.m.Size || st.Pinned != 2 || st.VlogBytes <= 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestBadgerLoggerLevels(t *testing.T) {
	var buf bytes.Buffer
	l := badgerLogger{zerolog.New(&buf)}
	l.Infof("compaction %d", 1)
	l.Debugf("detail")
	if buf.Len() != 0 {
		t.Fatalf("info/debug reached the log: %s", buf.String())
	}
	l.Warningf("slow %s\n", "disk")
	l.Errorf("broken")
	if out := buf.String(); !strings.Contains(out, `"level":"warn","message":"slow disk"`) || !strings.Contains(out, `"level":"error"`) {
		t.Fatalf("log: %s", out)
	}
}

func TestCheckFindsWhatBreaksInvariants(t *testing.T) {
	clock := newTestClock()
	s := openStore(t, testConfig(t, clock))
	o := newObject(t, randomBlocks(newRand(t), 3, 1000), clock.Now())
	putBlocks(t, s, o.blocks)
	if err := s.Commit(o.ref, o.m, UseOwner); err != nil {
		t.Fatal(err)
	}
	if probs, err := s.Check(); err != nil || len(probs) != 0 {
		t.Fatalf("consistent store: %v %v", probs, err)
	}
	stray := []byte("stray block")
	if err := s.PutBlock(blocks.Sum(stray), stray); err != nil {
		t.Fatal(err)
	}
	probs, err := s.Check()
	if err != nil || len(probs) != 1 || !strings.Contains(probs[0], "no use") {
		t.Fatalf("stray block: %v %v", probs, err)
	}
}
