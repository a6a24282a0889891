package gateway_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/node"
)

// signer signs requests with SigV4 the way the AWS SDKs do (path-style,
// payload hashed), independently of the gateway's own code.
type signer struct {
	base, access, secret string
}

func (s signer) do(t *testing.T, method, path, query string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	url := s.base + path
	if query != "" {
		url += "?" + query
	}
	req, err := http.NewRequest(method, url, strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if s.access != "" {
		s.sign(req, body)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func (s signer) sign(req *http.Request, body []byte) {
	now := time.Now().UTC()
	amz, day := now.Format("20060102T150405Z"), now.Format("20060102")
	sum := sha256.Sum256(body)
	payload := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Date", amz)
	req.Header.Set("X-Amz-Content-Sha256", payload)
	names := []string{"host", "x-amz-content-sha256", "x-amz-date"}
	for k := range req.Header {
		if l := strings.ToLower(k); strings.HasPrefix(l, "x-amz-meta-") || l == "content-type" || l == "range" {
			names = append(names, l)
		}
	}
	sort.Strings(names)
	var canon strings.Builder
	fmt.Fprintf(&canon, "%s\n%s\n%s\n", req.Method, encodePath(req.URL.Path), sortedQuery(req.URL.RawQuery))
	for _, n := range names {
		v := req.Header.Get(n)
		if n == "host" {
			v = req.URL.Host
		}
		fmt.Fprintf(&canon, "%s:%s\n", n, strings.TrimSpace(v))
	}
	fmt.Fprintf(&canon, "\n%s\n%s", strings.Join(names, ";"), payload)
	scope := day + "/us-east-1/s3/aws4_request"
	h := sha256.Sum256([]byte(canon.String()))
	toSign := "AWS4-HMAC-SHA256\n" + amz + "\n" + scope + "\n" + hex.EncodeToString(h[:])
	key := mac([]byte("AWS4"+s.secret), day)
	for _, p := range []string{"us-east-1", "s3", "aws4_request"} {
		key = mac(key, p)
	}
	req.Header.Set("Authorization", fmt.Sprintf("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
		s.access, scope, strings.Join(names, ";"), hex.EncodeToString(mac(key, toSign))))
}

func mac(key []byte, s string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return m.Sum(nil)
}

func encodePath(p string) string {
	var b strings.Builder
	for _, c := range []byte(p) {
		if c == '/' || c == '-' || c == '_' || c == '.' || c == '~' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// sortedQuery: the test's queries are already encoded; sort the pairs, a
// bare name gets "=".
func sortedQuery(raw string) string {
	if raw == "" {
		return ""
	}
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		if !strings.Contains(p, "=") {
			parts[i] = p + "="
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, "&")
}

func s3Node(t *testing.T) (*node.Node, signer) {
	n := nodetest.Start(t, func(c *node.Config) {
		c.S3AccessKey, c.S3SecretKey = "AKTEST", "s3cr3t"
		c.NamesFreeGrace = -1 // objects a key no longer names go at once: the tests count them
		quick(c)
	})
	return n, signer{base: n.HTTPEndpoint(), access: "AKTEST", secret: "s3cr3t"}
}

func errorCode(t *testing.T, b []byte) string {
	var e struct{ Code string }
	if err := xml.Unmarshal(b, &e); err != nil {
		t.Fatalf("not an S3 error: %q", b)
	}
	return e.Code
}

func expect(t *testing.T, what string, resp *http.Response, b []byte, status int, code string) {
	t.Helper()
	if resp.StatusCode != status || (code != "" && errorCode(t, b) != code) {
		t.Fatalf("%s: %s %s, want %d %s", what, resp.Status, b, status, code)
	}
}

// With S3 on, unsigned requests still reach the health checks, metrics and
// /ref/; signed ones go to S3, so a bucket may be called "metrics". S3
// refuses the unsigned and the wrongly signed with its own error codes.
func TestS3Routing(t *testing.T) {
	n, s := s3Node(t)
	anon := signer{base: s.base}
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		if resp, _ := anon.do(t, "GET", p, "", nil, nil); resp.StatusCode != 200 {
			t.Fatalf("unsigned %s: %s", p, resp.Status)
		}
	}
	ref := put(t, n.HTTPEndpoint(), []byte("by ref"), nil).Ref
	if resp, b := anon.do(t, "GET", "/ref/"+ref, "", nil, nil); resp.StatusCode != 200 || string(b) != "by ref" {
		t.Fatalf("unsigned /ref/: %s", resp.Status)
	}
	resp, b := anon.do(t, "GET", "/", "", nil, nil)
	expect(t, "unsigned list of buckets", resp, b, 403, "AccessDenied")
	resp, b = signer{base: s.base, access: "AKTEST", secret: "wrong"}.do(t, "GET", "/", "", nil, nil)
	expect(t, "wrong secret", resp, b, 403, "SignatureDoesNotMatch")
	resp, b = s.do(t, "PUT", "/metrics", "", nil, nil)
	expect(t, "create bucket metrics", resp, b, 200, "")
	resp, b = s.do(t, "GET", "/metrics", "list-type=2", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "<Name>metrics</Name>") {
		t.Fatalf("signed GET /metrics: %s %s", resp.Status, b)
	}
	resp, b = s.do(t, "GET", "/metrics", "acl", nil, nil)
	expect(t, "?acl", resp, b, 501, "NotImplemented")
}

// Bucket and key errors carry S3's codes; a key overwritten or deleted
// frees its object; a copy names the same object, which outlives its
// source key.
func TestS3ObjectsAndErrors(t *testing.T) {
	n, s := s3Node(t)
	resp, b := s.do(t, "GET", "/nobucket/k", "", nil, nil)
	expect(t, "no bucket", resp, b, 404, "NoSuchBucket")
	resp, b = s.do(t, "PUT", "/Bad_Name", "", nil, nil)
	expect(t, "bad bucket name", resp, b, 400, "InvalidBucketName")
	s.do(t, "PUT", "/bk1", "", nil, nil)
	resp, b = s.do(t, "PUT", "/bk1", "", nil, nil)
	expect(t, "bucket twice", resp, b, 409, "BucketAlreadyOwnedByYou")
	resp, b = s.do(t, "GET", "/bk1/missing", "", nil, nil)
	expect(t, "no key", resp, b, 404, "NoSuchKey")

	objects := func() int64 {
		st, _ := n.Store().Stats()
		return st.Objects
	}
	resp, _ = s.do(t, "PUT", "/bk1/k", "", []byte("first"), map[string]string{"Content-Type": "text/plain", "X-Amz-Meta-Step": "1"})
	if resp.StatusCode != 200 || resp.Header.Get("ETag") != `"8b04d5e3775d298e78455efc5ca404d5"` { // MD5 of "first"
		t.Fatalf("put: %s %s", resp.Status, resp.Header.Get("ETag"))
	}
	s.do(t, "PUT", "/bk1/k", "", []byte("second"), nil)
	nodetest.WaitFor(t, 10*time.Second, "the overwritten object freed", func() bool { return objects() == 1 })
	resp, b = s.do(t, "DELETE", "/bk1", "", nil, nil)
	expect(t, "delete a bucket with a key", resp, b, 409, "BucketNotEmpty")
	resp, b = s.do(t, "PUT", "/bk1/copy", "", nil, map[string]string{"X-Amz-Copy-Source": "/bk1/k"})
	if resp.StatusCode != 200 || !strings.Contains(string(b), "CopyObjectResult") {
		t.Fatalf("copy: %s %s", resp.Status, b)
	}
	s.do(t, "DELETE", "/bk1/k", "", nil, nil)
	resp, b = s.do(t, "GET", "/bk1/copy", "", nil, map[string]string{"Range": "bytes=1-3"})
	if resp.StatusCode != 206 || string(b) != "eco" {
		t.Fatalf("copy after its source was deleted: %s %q", resp.Status, b)
	}
	resp, _ = s.do(t, "DELETE", "/bk1/copy", "", nil, nil)
	if resp.StatusCode != 204 {
		t.Fatalf("delete the last key: %s", resp.Status)
	}
	nodetest.WaitFor(t, 10*time.Second, "no object left", func() bool { return objects() == 0 })
	resp, _ = s.do(t, "DELETE", "/bk1/copy", "", nil, nil)
	if resp.StatusCode != 204 {
		t.Fatalf("deleting a missing key: %s (S3 answers 204)", resp.Status)
	}
}

// A multipart upload: parts in any order, Complete checks their ETags and
// order, the ETag is the MD5 of the parts' MD5s and their count; Abort
// deletes the parts.
func TestS3Multipart(t *testing.T) {
	n, s := s3Node(t)
	s.do(t, "PUT", "/mpu", "", nil, nil)
	start := func() string {
		resp, b := s.do(t, "POST", "/mpu/big", "uploads", nil, nil)
		var r struct{ UploadId string }
		if resp.StatusCode != 200 || xml.Unmarshal(b, &r) != nil || r.UploadId == "" {
			t.Fatalf("create: %s %s", resp.Status, b)
		}
		return r.UploadId
	}
	id := start()
	parts := [][]byte{random(t, 5<<20), random(t, 5<<20), random(t, 1234)}
	etags := make([]string, len(parts))
	for _, i := range []int{2, 0, 1} {
		resp, b := s.do(t, "PUT", "/mpu/big", fmt.Sprintf("partNumber=%d&uploadId=%s", i+1, id), parts[i], nil)
		if resp.StatusCode != 200 {
			t.Fatalf("part %d: %s %s", i+1, resp.Status, b)
		}
		etags[i] = resp.Header.Get("ETag")
	}
	complete := func(order []int, etag func(int) string) (*http.Response, []byte) {
		var x strings.Builder
		x.WriteString("<CompleteMultipartUpload>")
		for _, i := range order {
			fmt.Fprintf(&x, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", i+1, etag(i))
		}
		x.WriteString("</CompleteMultipartUpload>")
		return s.do(t, "POST", "/mpu/big", "uploadId="+id, []byte(x.String()), nil)
	}
	resp, b := complete([]int{1, 0, 2}, func(i int) string { return etags[i] })
	expect(t, "parts out of order", resp, b, 400, "InvalidPartOrder")
	resp, b = complete([]int{0, 1, 2}, func(i int) string { return `"00"` })
	expect(t, "wrong ETags", resp, b, 400, "InvalidPart")
	resp, b = complete([]int{0, 1, 2}, func(i int) string { return etags[i] })
	if resp.StatusCode != 200 || !strings.Contains(string(b), `-3&#34;</ETag>`) {
		t.Fatalf("complete: %s %s", resp.Status, b)
	}
	resp, b = s.do(t, "GET", "/mpu/big", "", nil, nil)
	want := append(append(append([]byte{}, parts[0]...), parts[1]...), parts[2]...)
	if resp.StatusCode != 200 || string(b) != string(want) || !strings.HasSuffix(resp.Header.Get("ETag"), `-3"`) {
		t.Fatalf("get: %s, %d bytes, ETag %s", resp.Status, len(b), resp.Header.Get("ETag"))
	}
	st, _ := n.Store().Stats()
	if st.Objects != 1 {
		t.Fatalf("%d objects after Complete: the parts were not deleted", st.Objects)
	}
	id = start()
	s.do(t, "PUT", "/mpu/big2", fmt.Sprintf("partNumber=1&uploadId=%s", id), parts[2], nil) // wrong key: no such upload
	s.do(t, "PUT", "/mpu/big", fmt.Sprintf("partNumber=1&uploadId=%s", id), parts[2], nil)
	if resp, _ := s.do(t, "DELETE", "/mpu/big", "uploadId="+id, nil, nil); resp.StatusCode != 204 {
		t.Fatalf("abort: %s", resp.Status)
	}
	if st, _ := n.Store().Stats(); st.Objects != 1 {
		t.Fatalf("%d objects after Abort: its part was not deleted", st.Objects)
	}
	resp, b = s.do(t, "PUT", "/mpu/big", fmt.Sprintf("partNumber=2&uploadId=%s", id), parts[2], nil)
	expect(t, "part of an aborted upload", resp, b, 404, "NoSuchUpload")
}
