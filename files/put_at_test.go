package files

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/emerge-dev/emerge/internal/testdata"
)

func TestPutAtMatchesPut(t *testing.T) {
	s := newService(t, nil)
	ctx := context.Background()
	for _, size := range []int{1, bs, bs + 1, 37*bs + 5} {
		data := testdata.Bytes(uint64(size), size)
		want, err := s.Put(ctx, bytes.NewReader(data), PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.PutAt(ctx, bytes.NewReader(data), int64(size), PutOptions{})
		if err != nil || got.Ref != want.Ref || got.Manifest.Size != int64(size) {
			t.Fatalf("size %d: PutAt %s, Put %s, err %v", size, got.Ref.Short(), want.Ref.Short(), err)
		}
	}
}

type failingReaderAt struct{ after int64 }

func (f failingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= f.after {
		return 0, io.ErrUnexpectedEOF
	}
	return len(p), nil
}

func TestPutAtReadErrorLeavesNothing(t *testing.T) {
	s := newService(t, nil)
	_, err := s.PutAt(context.Background(), failingReaderAt{after: 20 * bs}, 40*bs, PutOptions{})
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("PutAt of a failing reader: %v", err)
	}
	if objs, _ := s.List(context.Background(), [32]byte{}, 10); len(objs) != 0 || blockCount(t, s) != 0 || s.Uploads() != 0 {
		t.Fatalf("failed PutAt left %d objects, %d blocks, %d uploads", len(objs), blockCount(t, s), s.Uploads())
	}
}
