package files_test

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/files"
	"github.com/emerge-dev/emerge/internal/testdata"
	"github.com/emerge-dev/emerge/internal/vcluster"
)

// scale is the number of virtual nodes of the scale tests: 100, or 25 under
// the race detector.
func scale() int {
	if n := os.Getenv("VN"); n != "" {
		v, _ := strconv.Atoi(n)
		return v
	}
	if raceEnabled {
		return 25
	}
	return 100
}

func vctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func put(t *testing.T, n *vcluster.Node, seed uint64, size int, o files.PutOptions) (blocks.Ref, []byte) {
	t.Helper()
	data := testdata.Bytes(seed, size)
	st, err := n.Files.Put(vctx(t), bytes.NewReader(data), o)
	if err != nil {
		t.Fatalf("put on %s: %v", n.Name, err)
	}
	return st.Ref, data
}

func get(ctx context.Context, n *vcluster.Node, ref blocks.Ref) ([]byte, error) {
	var buf bytes.Buffer
	_, err := n.Files.WriteTo(ctx, ref, &buf)
	return buf.Bytes(), err
}

func TestVirtualClusterStartsAndGets(t *testing.T) {
	start := time.Now()
	c := vcluster.New(t, scale(), vcluster.Options{})
	t.Logf("%d nodes converged in %s", len(c.Nodes), time.Since(start))
	ref, data := put(t, c.Nodes[1], 1, 20*64<<10+5, files.PutOptions{})
	for _, n := range c.Nodes[len(c.Nodes)-5:] {
		got, err := get(vctx(t), n, ref)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("get on %s: %v", n.Name, err)
		}
	}
}
