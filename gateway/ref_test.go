package gateway_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/node"
)

// putReply is the JSON of a PUT.
type putReply struct {
	Ref      string `json:"ref"`
	Size     int64  `json:"size"`
	Blocks   int    `json:"blocks"`
	Copies   int    `json:"copies"`
	Replicas int    `json:"replicas"`
}

func do(t *testing.T, method, url string, body io.Reader, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: body: %v", method, url, err)
	}
	return resp, b
}

func put(t *testing.T, base string, data []byte, hdr map[string]string) putReply {
	t.Helper()
	resp, b := do(t, http.MethodPut, base+"/ref/", bytes.NewReader(data), hdr)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("put: %s %s", resp.Status, b)
	}
	var rep putReply
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("ETag") != `"`+rep.Ref+`"` || resp.Header.Get("Location") != "/ref/"+rep.Ref {
		t.Fatalf("put headers %v", resp.Header)
	}
	return rep
}

func random(t *testing.T, n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func quick(c *node.Config) { c.LocateTimeout = 300 * time.Millisecond }

// A put over HTTP returns the ref; GET streams the bytes back with the ref
// as ETag, HEAD tells the size, and the ref is the one `emerge put` makes.
func TestPutGetHead(t *testing.T) {
	n := nodetest.Start(t, quick)
	base := n.HTTPEndpoint()
	data := random(t, 5<<20+123) // 6 blocks, the last short
	rep := put(t, base, data, map[string]string{"Content-Type": "application/x-test", "X-Emerge-Meta-Step": "1200"})
	if rep.Size != int64(len(data)) || rep.Blocks != 6 || rep.Copies != 1 || rep.Replicas != 1 {
		t.Fatalf("put reply %+v", rep)
	}
	resp, b := do(t, http.MethodGet, base+"/ref/"+rep.Ref, nil, nil)
	if resp.StatusCode != 200 || !bytes.Equal(b, data) {
		t.Fatalf("get: %s, %d bytes", resp.Status, len(b))
	}
	if resp.Header.Get("ETag") != `"`+rep.Ref+`"` || resp.Header.Get("Content-Type") != "application/x-test" ||
		resp.Header.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("get headers %v", resp.Header)
	}
	resp, b = do(t, http.MethodHead, base+"/ref/"+rep.Ref, nil, nil)
	if resp.StatusCode != 200 || len(b) != 0 || resp.ContentLength != int64(len(data)) {
		t.Fatalf("head: %s, length %d, %d bytes", resp.Status, resp.ContentLength, len(b))
	}
	c := nodetest.Client(t, n)
	info, err := c.Stat(nodetest.Context(t, 5*time.Second), mustRef(t, rep.Ref))
	if err != nil || info.Meta["step"] != "1200" || info.ContentType != "application/x-test" {
		t.Fatalf("stat over rpc: %+v %v", info, err)
	}
}

// Range answers 206 with the bytes asked, across block boundaries, from
// the end, and several ranges at once (multipart/byteranges); a range
// beyond the end is 416; If-None-Match with the ref is 304.
func TestRanges(t *testing.T) {
	n := nodetest.Start(t, quick)
	base := n.HTTPEndpoint()
	data := random(t, 3<<20+5)
	ref := put(t, base, data, nil).Ref
	url := base + "/ref/" + ref
	for _, c := range []struct {
		rng      string
		from, to int // inclusive
	}{
		{"bytes=0-0", 0, 0},
		{"bytes=1048570-1048600", 1048570, 1048600},          // across the first block boundary
		{"bytes=1000-", 1000, len(data) - 1},                 // to the end
		{"bytes=-10", len(data) - 10, len(data) - 1},         // the last 10
		{"bytes=2097152-9999999999", 2097152, len(data) - 1}, // clipped at the end
	} {
		resp, b := do(t, http.MethodGet, url, nil, map[string]string{"Range": c.rng})
		want := fmt.Sprintf("bytes %d-%d/%d", c.from, c.to, len(data))
		if resp.StatusCode != http.StatusPartialContent || resp.Header.Get("Content-Range") != want ||
			!bytes.Equal(b, data[c.from:c.to+1]) {
			t.Fatalf("%s: %s %q, %d bytes", c.rng, resp.Status, resp.Header.Get("Content-Range"), len(b))
		}
	}
	resp, b := do(t, http.MethodGet, url, nil, map[string]string{"Range": "bytes=0-9,2097150-2097160"})
	if resp.StatusCode != http.StatusPartialContent || !strings.HasPrefix(resp.Header.Get("Content-Type"), "multipart/byteranges") ||
		!bytes.Contains(b, data[0:10]) || !bytes.Contains(b, data[2097150:2097161]) {
		t.Fatalf("two ranges: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	resp, _ = do(t, http.MethodGet, url, nil, map[string]string{"Range": fmt.Sprintf("bytes=%d-", len(data))})
	if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		t.Fatalf("range past the end: %s", resp.Status)
	}
	resp, b = do(t, http.MethodGet, url, nil, map[string]string{"If-None-Match": `"` + ref + `"`})
	if resp.StatusCode != http.StatusNotModified || len(b) != 0 {
		t.Fatalf("if-none-match: %s", resp.Status)
	}
}

// DELETE removes the object: a later GET is 410 (deleted), not a stale copy.
// Bad input gets its status and one line naming the cause.
func TestDeleteAndErrors(t *testing.T) {
	n := nodetest.Start(t, quick)
	base := n.HTTPEndpoint()
	ref := put(t, base, []byte("hello\n"), nil).Ref
	resp, b := do(t, http.MethodDelete, base+"/ref/"+ref, nil, nil)
	var del struct {
		Ref     string `json:"ref"`
		Deleted bool   `json:"deleted"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(b, &del) != nil || !del.Deleted || del.Ref != ref {
		t.Fatalf("delete: %s %s", resp.Status, b)
	}
	missing := strings.Repeat("ab", 32)
	for _, c := range []struct {
		method, path string
		hdr          map[string]string
		status       int
		says         string
	}{
		{"GET", "/ref/" + ref, nil, http.StatusGone, "deleted"},
		{"GET", "/ref/" + missing, nil, http.StatusNotFound, "not found"},
		{"GET", "/ref/xyz", nil, http.StatusBadRequest, "not a ref"},
		{"DELETE", "/ref/" + missing, nil, http.StatusNotFound, "not found"},
		{"GET", "/ref/", nil, http.StatusMethodNotAllowed, "PUT or POST"},
		{"POST", "/ref/" + ref, nil, http.StatusMethodNotAllowed, "GET, HEAD or DELETE"},
		{"PUT", "/ref/", map[string]string{"X-Emerge-Replicas": "many"}, http.StatusBadRequest, "X-Emerge-Replicas"},
		{"PUT", "/ref/", map[string]string{"X-Emerge-Block-Size": "1KiB"}, http.StatusBadRequest, "block size"},
		{"PUT", "/ref/", map[string]string{"X-Emerge-Replicas": "2", "X-Emerge-Min-Replicas": "2"}, http.StatusServiceUnavailable, "min_replicas"},
	} {
		resp, b := do(t, c.method, base+c.path, strings.NewReader("x"), c.hdr)
		if resp.StatusCode != c.status || !strings.Contains(string(b), c.says) || strings.Count(string(b), "\n") != 1 {
			t.Errorf("%s %s: %s %q, want %d saying %q", c.method, c.path, resp.Status, b, c.status, c.says)
		}
	}
}

// A body cut short is a bad request, and leaves no object behind.
func TestTruncatedPut(t *testing.T) {
	n := nodetest.Start(t, quick)
	req, _ := http.NewRequest(http.MethodPut, n.HTTPEndpoint()+"/ref/", io.LimitReader(bytes.NewReader(random(t, 3<<20)), 2<<20))
	req.ContentLength = 3 << 20 // promises more than it sends
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("a put that sent 2 of 3 MiB: %s", resp.Status)
	}
	nodetest.WaitFor(t, 5*time.Second, "the upload to be dropped", func() bool { return n.Files().Uploads() == 0 })
	st, err := n.Store().Stats()
	if err != nil || st.Objects != 0 {
		t.Fatalf("objects after a cut put: %+v %v", st, err)
	}
}

// The body of a 0-byte object is empty, with a 200 and its ETag.
func TestEmptyObject(t *testing.T) {
	n := nodetest.Start(t, quick)
	rep := put(t, n.HTTPEndpoint(), nil, nil)
	resp, b := do(t, http.MethodGet, n.HTTPEndpoint()+"/ref/"+rep.Ref, nil, nil)
	if resp.StatusCode != 200 || len(b) != 0 || rep.Size != 0 || resp.Header.Get("ETag") != `"`+rep.Ref+`"` {
		t.Fatalf("empty: %s %d bytes, %+v", resp.Status, len(b), rep)
	}
}

func mustRef(t *testing.T, s string) blocks.Ref {
	t.Helper()
	r, err := blocks.ParseRef(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
