package files

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/blocks/store"
	"github.com/emerge-dev/emerge/internal/testdata"
	"github.com/emerge-dev/emerge/rpc"
)

const bs = blocks.MinBlockSize

func newService(t *testing.T, mod func(*Config)) *Service {
	t.Helper()
	st, err := store.Open(store.Config{Dir: t.TempDir(), MemTableSize: 4 << 20, BlockCacheSize: 1 << 20,
		ValueLogFileSize: 16 << 20, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Store: st, BlockSize: bs, Replicas: 1}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); st.Close() })
	return s
}

func blockCount(t *testing.T, s *Service) int64 {
	t.Helper()
	st, err := s.Store().Stats()
	if err != nil {
		t.Fatal(err)
	}
	return st.Blocks
}

func TestUploadOutOfOrderAndConcurrent(t *testing.T) {
	s := newService(t, nil)
	data := testdata.Bytes(1, 7*bs+11)
	u, err := s.Begin(PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, i := range []int{7, 3, 0, 5, 1, 6, 2, 4} {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if err := u.Write(context.Background(), i, data[i*bs:min((i+1)*bs, len(data))]); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	st, err := u.Commit(context.Background(), 8, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	ref, m := st.Ref, st.Manifest
	var out bytes.Buffer
	if _, err := s.WriteTo(context.Background(), ref, &out); err != nil || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("object assembled from out-of-order blocks differs: %v", err)
	}
	if m.Replicas != 1 || m.Created.IsZero() {
		t.Fatalf("manifest policy fields: %+v", m)
	}
	st2, err := s.Put(context.Background(), bytes.NewReader(data), PutOptions{})
	if err != nil || st2.Ref != ref {
		t.Fatalf("streamed put of the same bytes: %s vs %s (%v)", st2.Ref, ref, err)
	}
}

func TestUploadRejectsMalformedObjects(t *testing.T) {
	s := newService(t, nil)
	full := testdata.Bytes(2, bs)
	cases := []struct {
		name   string
		writes map[int][]byte
		n      int
		size   int64
	}{
		{"missing block", map[int][]byte{0: full, 2: full[:5]}, 3, 2*bs + 5},
		{"short middle block", map[int][]byte{0: full[:10], 1: full}, 2, 10 + bs},
		{"size disagrees", map[int][]byte{0: full, 1: full[:5]}, 2, bs + 6},
		{"count disagrees", map[int][]byte{0: full}, 2, bs},
	}
	for _, tc := range cases {
		u, _ := s.Begin(PutOptions{})
		for i, b := range tc.writes {
			if err := u.Write(context.Background(), i, b); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := u.Commit(context.Background(), tc.n, tc.size); !errors.Is(err, ErrBadUpload) || !errors.Is(err, rpc.ErrBadRequest) {
			t.Errorf("%s: commit returned %v", tc.name, err)
		}
	}
	if n := blockCount(t, s); n != 0 {
		t.Fatalf("rejected uploads left %d blocks", n)
	}
	u, _ := s.Begin(PutOptions{})
	if err := u.Write(context.Background(), 0, full); err != nil {
		t.Fatal(err)
	}
	if err := u.Write(context.Background(), 0, full); err != nil {
		t.Fatalf("an identical repeat must be harmless: %v", err)
	}
	if err := u.Write(context.Background(), 0, testdata.Bytes(3, bs)); !errors.Is(err, ErrBadUpload) {
		t.Fatalf("different bytes at the same seq: %v", err)
	}
	for _, bad := range [][]byte{nil, make([]byte, bs+1)} {
		if err := u.Write(context.Background(), 1, bad); !errors.Is(err, ErrBadUpload) {
			t.Fatalf("block of %d bytes: %v", len(bad), err)
		}
	}
	if err := u.Write(context.Background(), -1, full); !errors.Is(err, ErrBadUpload) {
		t.Fatalf("negative seq: %v", err)
	}
	u.Abort()
	if _, err := u.Commit(context.Background(), 1, bs); !errors.Is(err, ErrUploadNotFound) {
		t.Fatalf("commit after abort: %v", err)
	}
	if err := u.Write(context.Background(), 1, full); !errors.Is(err, ErrUploadNotFound) {
		t.Fatalf("write after abort: %v", err)
	}
}

// An abort racing writes in flight leaves no block behind.
func TestAbortRacingWritesLeavesNothing(t *testing.T) {
	s := newService(t, nil)
	for round := 0; round < 20; round++ {
		u, _ := s.Begin(PutOptions{})
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func(i int) { defer wg.Done(); u.Write(context.Background(), i, testdata.Bytes(uint64(round*8+i), bs)) }(i)
		}
		u.Abort()
		wg.Wait()
	}
	if n := blockCount(t, s); n != 0 {
		t.Fatalf("aborts racing writes left %d blocks", n)
	}
}

func TestIdleUploadExpires(t *testing.T) {
	s := newService(t, func(c *Config) { c.UploadIdle = 100 * time.Millisecond })
	u, _ := s.Begin(PutOptions{})
	u.Write(context.Background(), 0, testdata.Bytes(4, bs))
	deadline := time.Now().Add(10 * time.Second)
	for s.Uploads() != 0 || blockCount(t, s) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("idle upload not expired: %d uploads, %d blocks", s.Uploads(), blockCount(t, s))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := s.Upload(u.ID()); !errors.Is(err, ErrUploadNotFound) || !errors.Is(err, blocks.ErrNotFound) {
		t.Fatalf("expired upload lookup: %v", err)
	}
}

func TestPutOptionsValidated(t *testing.T) {
	s := newService(t, nil)
	bad := []PutOptions{
		{BlockSize: 1000},
		{BlockSize: blocks.MaxBlockSize + 1},
		{Replicas: -1},
		{Replicas: blocks.MaxReplicas + 1},
		{ContentType: string(make([]byte, blocks.MaxContentType+1))},
		{Meta: map[string]string{"": "x"}},
	}
	for _, o := range bad {
		if _, err := s.Begin(o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
	if _, err := New(Config{}); err == nil {
		t.Error("New without a store accepted")
	}
}
