package node_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/internal/testdata"
	"github.com/emerge-dev/emerge/internal/tmpfs"
)

// A node whose disk fills up refuses the put that does not fit with
// ErrNoSpace, shows no part of it, keeps every earlier object readable,
// and stores again once space is freed.
func TestDiskFullThroughTheNode(t *testing.T) {
	cfg := nodetest.Config(t)
	cfg.DataDir = tmpfs.Mount(t, "48m")
	cfg.ValueLogFileSize = 2 << 20
	cfg.MemTableSize = 2 << 20
	cfg.BlockCacheSize = 1 << 20
	cfg.BlockSize = 256 << 10
	n := nodetest.StartConfig(t, cfg)
	cl := nodetest.Client(t, n)
	ctx := nodetest.Context(t, 2*time.Minute)
	kept := map[int][]byte{}
	var refs []client.Info
	var fullErr error
	for i := 0; i < 100 && fullErr == nil; i++ {
		data := testdata.Bytes(uint64(i), 2<<20)
		ref, err := cl.Put(ctx, bytes.NewReader(data), client.PutOptions{})
		if err != nil {
			fullErr = err
			break
		}
		kept[i] = data
		refs = append(refs, client.Info{Ref: ref})
	}
	if !errors.Is(fullErr, client.ErrNoSpace) {
		t.Fatalf("filling the disk ended with %v, want ErrNoSpace", fullErr)
	}
	if len(kept) < 4 {
		t.Fatalf("only %d objects of 2 MiB fit on 48 MiB", len(kept))
	}
	all, err := cl.ListAll(ctx)
	if err != nil || len(all) != len(kept) {
		t.Fatalf("after disk full: %d objects listed, %d stored (%v)", len(all), len(kept), err)
	}
	for i, r := range refs {
		got, err := cl.GetBytes(ctx, r.Ref)
		if err != nil || !bytes.Equal(got, kept[i]) {
			t.Fatalf("object %d unreadable after disk full: %v", i, err)
		}
	}
	st, _ := cl.Status(ctx)
	if st.Blocks != int64(len(kept))*8 || st.Uploads != 0 {
		t.Fatalf("failed put left blocks behind: %d blocks for %d objects, %d uploads open", st.Blocks, len(kept), st.Uploads)
	}
	for _, r := range refs[:len(refs)/2] {
		if _, err := cl.Delete(ctx, r.Ref); err != nil {
			t.Fatal(err)
		}
	}
	// Badger hands deleted values back to the disk once its tables have been
	// compacted: a restart flushes the memtable, then value-log GC reclaims.
	cl.Close()
	n.Close()
	n = nodetest.StartConfig(t, cfg)
	cl = nodetest.Client(t, n)
	if err := n.Store().ReclaimSpace(); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.PutBytes(ctx, testdata.Bytes(999, 2<<20), client.PutOptions{}); err != nil {
		t.Fatalf("put after deleting half and restarting: %v", err)
	}
	for i, r := range refs[len(refs)/2:] {
		if got, err := cl.GetBytes(ctx, r.Ref); err != nil || !bytes.Equal(got, kept[len(refs)/2+i]) {
			t.Fatalf("surviving object unreadable: %v", err)
		}
	}
}
