package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Requests signed by botocore (the library under awscli and boto3), with
// its clock fixed at 2026-12-02 12:00:00 UTC, secret "secret/key+x".
var botocoreSigned = []struct {
	method, url string
	headers     map[string]string
	body        string
}{
	{"GET", "http://127.0.0.1:7702/bucket/dir%20x/%C3%A4%2Bb%3Dc.txt", map[string]string{
		"Range": "bytes=0-9", "X-Amz-Date": "20261202T120000Z",
		"X-Amz-Content-SHA256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"Authorization":        "AWS4-HMAC-SHA256 Credential=AKTEST/20261202/eu-west-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=660f2e9b8fe45119ee3bd5436f2c5f6d74d612af0b84008d19f62f8f25a257da",
	}, ""},
	{"GET", "http://127.0.0.1:7702/bucket?list-type=2&prefix=a%2Fb%20c&encoding-type=url&max-keys=10", map[string]string{
		"X-Amz-Date":           "20261202T120000Z",
		"X-Amz-Content-SHA256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"Authorization":        "AWS4-HMAC-SHA256 Credential=AKTEST/20261202/eu-west-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=c4d3b72b2fb927505a88cef285ed875b4d1484b1d5ded8bb25c734b2c2787bb7",
	}, ""},
	{"PUT", "http://127.0.0.1:7702/bucket/k?partNumber=3&uploadId=abc", map[string]string{
		"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg==", "X-Amz-Date": "20261202T120000Z",
		"X-Amz-Content-SHA256": "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
		"Authorization":        "AWS4-HMAC-SHA256 Credential=AKTEST/20261202/eu-west-1/s3/aws4_request, SignedHeaders=content-md5;host;x-amz-content-sha256;x-amz-date, Signature=571fd0ac68c1b3fddb3dbd8233ca6f641fa032d3c7c6d49776d19633eb05b100",
	}, "hello"},
	{"GET", "http://127.0.0.1:7702/bucket/some%20key.bin?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKTEST%2F20261202%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261202T120000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=0430c326100a92a900496e8876946fc9529fe8b7a2c146ec20ec31202f148980",
		nil, ""},
}

func testGateway(now time.Time) *s3Gateway {
	return &s3Gateway{secrets: map[string]string{"AKTEST": "secret/key+x"}, now: func() time.Time { return now }}
}

func signedRequest(method, url string, headers map[string]string, body string) *http.Request {
	r := httptest.NewRequest(method, url, strings.NewReader(body))
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	return r
}

// What botocore signs, the gateway accepts; change a byte and it refuses.
func TestSigV4AgainstBotocore(t *testing.T) {
	g := testGateway(time.Date(2026, 12, 2, 12, 5, 0, 0, time.UTC))
	for _, c := range botocoreSigned {
		if _, err := g.authenticate(signedRequest(c.method, c.url, c.headers, c.body)); err != nil {
			t.Errorf("%s %s: %v", c.method, c.url, err)
		}
		tampered := strings.Replace(c.url, "bucket", "bucket2", 1)
		if _, err := g.authenticate(signedRequest(c.method, tampered, c.headers, c.body)); code(err) != "SignatureDoesNotMatch" {
			t.Errorf("%s %s: %v", c.method, tampered, err)
		}
	}
}

func code(err error) string {
	var se *s3Error
	if errors.As(err, &se) {
		return se.code
	}
	return ""
}

// Wrong keys, old requests, expired URLs and anonymous requests are
// refused, each with the code clients expect.
func TestSigV4Refusals(t *testing.T) {
	c := botocoreSigned[0]
	for _, tc := range []struct {
		name string
		now  time.Time
		mod  func(h map[string]string)
		url  string
		want string
	}{
		{"skewed", time.Date(2026, 12, 2, 12, 16, 0, 0, time.UTC), nil, "", "RequestTimeTooSkewed"},
		{"unknown key", time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC),
			func(h map[string]string) {
				h["Authorization"] = strings.Replace(h["Authorization"], "AKTEST", "AKOTHER", 1)
			}, "", "InvalidAccessKeyId"},
		{"anonymous", time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC), func(h map[string]string) { delete(h, "Authorization") }, "", "AccessDenied"},
		{"version 2", time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC),
			func(h map[string]string) { h["Authorization"] = "AWS AKTEST:c2lnbmF0dXJl" }, "", "AuthorizationHeaderMalformed"},
		{"presigned, expired", time.Date(2026, 12, 2, 13, 0, 1, 0, time.UTC), nil, botocoreSigned[3].url, "AccessDenied"},
	} {
		h := map[string]string{}
		for k, v := range c.headers {
			h[k] = v
		}
		if tc.mod != nil {
			tc.mod(h)
		}
		url := c.url
		if tc.url != "" {
			url, h = tc.url, nil
		}
		_, err := testGateway(tc.now).authenticate(signedRequest("GET", url, h, ""))
		if code(err) != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
}

// The example of a chunked upload in Amazon's SigV4 documentation: 66560
// bytes of 'a' in chunks of 64 KiB, 1 KiB and the empty final chunk.
func TestChunkedBodyAmazonExample(t *testing.T) {
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	sig := &signature{payload: streamingPayload, seed: "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
		key: signingKey(secret, "20130524", "us-east-1", "s3"), date: "20130524T000000Z", scope: "20130524/us-east-1/s3/aws4_request"}
	chunk := func(n int, s string) string {
		return fmt.Sprintf("%x", n) + ";chunk-signature=" + s + "\r\n" + strings.Repeat("a", n) + "\r\n"
	}
	body := chunk(65536, "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648") +
		chunk(1024, "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497") +
		"0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n"
	got, err := io.ReadAll(newChunkReader(strings.NewReader(body), sig))
	if err != nil || !bytes.Equal(got, bytes.Repeat([]byte("a"), 66560)) {
		t.Fatalf("decoded %d bytes: %v", len(got), err)
	}
	// One byte changed in the second chunk: its signature fails.
	bad := strings.Replace(body, strings.Repeat("a", 1024)+"\r\n", "b"+strings.Repeat("a", 1023)+"\r\n", 1)
	if _, err := io.ReadAll(newChunkReader(strings.NewReader(bad), sig)); code(err) != "SignatureDoesNotMatch" {
		t.Fatalf("tampered chunk: %v", err)
	}
	// Cut before the final chunk: an error, not a short object.
	if _, err := io.ReadAll(newChunkReader(strings.NewReader(body[:len(body)-90]), sig)); err == nil {
		t.Fatal("a body cut short read to its end without error")
	}
}

// A body whose SHA-256 or MD5 differs from what the request declared fails
// at its end.
func TestBodyChecks(t *testing.T) {
	r := httptest.NewRequest("PUT", "/b/k", strings.NewReader("hello"))
	r.Header.Set("Content-MD5", "XUFAKrxLKna5cZ2REBfFkg==") // MD5 of "hello"
	b, err := newS3Body(r, &signature{payload: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(b); err != nil || string(got) != "hello" || b.etag() != "5d41402abc4b2a76b9719d911017c592" {
		t.Fatalf("%q %v %s", got, err, b.etag())
	}
	r = httptest.NewRequest("PUT", "/b/k", strings.NewReader("hellO"))
	b, _ = newS3Body(r, &signature{payload: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"})
	if _, err := io.ReadAll(b); code(err) != "XAmzContentSHA256Mismatch" {
		t.Fatalf("sha mismatch: %v", err)
	}
	r = httptest.NewRequest("PUT", "/b/k", strings.NewReader("hellO"))
	r.Header.Set("Content-MD5", "XUFAKrxLKna5cZ2REBfFkg==")
	b, _ = newS3Body(r, &signature{payload: unsignedPayload})
	if _, err := io.ReadAll(b); code(err) != "BadDigest" {
		t.Fatalf("md5 mismatch: %v", err)
	}
}
