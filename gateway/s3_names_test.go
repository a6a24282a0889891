package gateway_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/names"
)

// S3 keys are names: what S3 writes is a name the CLI reads, a directory
// made by names is a bucket, an overwrite replaces every earlier version
// (its object goes), and keys that cannot be names are refused clearly.
func TestS3KeysAreNames(t *testing.T) {
	n, s := s3Node(t)
	ctx := context.Background()
	s.do(t, "PUT", "/bk1", "", nil, nil)
	resp, _ := s.do(t, "PUT", "/bk1/dir/a.bin", "", []byte("one"), map[string]string{"X-Amz-Meta-Step": "1"})
	if resp.StatusCode != 200 {
		t.Fatalf("put: %s", resp.Status)
	}
	e, err := n.Names().Resolve(ctx, "/bk1/dir/a.bin")
	if err != nil || e.Ref.IsZero() {
		t.Fatalf("the S3 key is no name: %v", err)
	}
	first := e.Ref
	s.do(t, "PUT", "/bk1/dir/a.bin", "", []byte("two"), nil)
	vs, err := n.Names().Versions(ctx, "/bk1/dir/a.bin")
	if err != nil || len(vs) != 2 || !vs[0].Erased || vs[1].Erased {
		t.Fatalf("after an overwrite: %+v, %v; want the first version erased", vs, err)
	}
	nodetest.WaitFor(t, 10*time.Second, "the overwritten object to be deleted", func() bool {
		_, _, err := n.Store().Manifest(first)
		return err != nil
	})
	resp, b := s.do(t, "GET", "/bk1/dir/a.bin", "", nil, nil)
	if resp.StatusCode != 200 || string(b) != "two" || resp.Header.Get("X-Amz-Meta-Step") != "" {
		t.Fatalf("get after overwrite: %s %q meta %q", resp.Status, b, resp.Header.Get("X-Amz-Meta-Step"))
	}

	// A directory written by names is a bucket; its names are keys.
	ref := e.Ref
	if _, err := n.Names().Bind(ctx, "/made-by-names/x/y.bin", ref, names.BindOptions{Size: e.Size}); err != nil {
		t.Fatal(err)
	}
	resp, b = s.do(t, "GET", "/", "", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "<Name>made-by-names</Name>") || !strings.Contains(string(b), "<Name>bk1</Name>") {
		t.Fatalf("buckets: %s %s", resp.Status, b)
	}
	resp, b = s.do(t, "GET", "/made-by-names", "list-type=2", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "<Key>x/y.bin</Key>") || strings.Contains(string(b), ".s3-bucket") {
		t.Fatalf("list: %s %s", resp.Status, b)
	}

	// Keys a name cannot hold are refused, and nothing is left stored.
	before, _ := n.Store().Stats()
	for _, key := range []string{"a//b", "a/../b", "v@2", "dir/", ".s3-bucket"} {
		resp, b := s.do(t, "PUT", "/bk1/"+key, "", []byte("x"), nil)
		if resp.StatusCode != 400 {
			t.Errorf("key %q: %s %s, want 400", key, resp.Status, b)
		}
	}
	after, _ := n.Store().Stats()
	if after.Objects != before.Objects {
		t.Errorf("refused keys left %d objects", after.Objects-before.Objects)
	}
}
