package gateway

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/emerge-dev/emerge/internal/bufpool"
	"github.com/rs/zerolog"
)

// S3Config turns on the S3-compatible interface of the gateway.
type S3Config struct {
	// Credentials are the keys requests must be signed with (SigV4); at
	// least one.
	Credentials []Credentials
	// Namespace holds buckets and keys (required).
	Namespace Namespace
	// UploadIdle is how long a multipart upload may receive nothing before
	// it is aborted and its parts deleted (default 24 h).
	UploadIdle time.Duration
}

const s3XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"

// s3Gateway serves the S3 subset: path-style requests (/bucket/key) signed
// with SigV4.
type s3Gateway struct {
	objs    Objects
	ns      Namespace
	secrets map[string]string // access key -> secret
	obs     Observer
	log     zerolog.Logger
	pool    *bufpool.Pool
	now     func() time.Time
	idle    time.Duration

	mu      sync.Mutex
	uploads map[string]*multipart // multipart uploads by id
}

func newS3(cfg *S3Config, objs Objects, obs Observer, log zerolog.Logger, pool *bufpool.Pool) (*s3Gateway, error) {
	if cfg.Namespace == nil || len(cfg.Credentials) == 0 {
		return nil, errors.New("gateway: S3 needs a Namespace and credentials")
	}
	g := &s3Gateway{objs: objs, ns: cfg.Namespace, secrets: map[string]string{}, obs: obs, log: log, pool: pool,
		now: time.Now, idle: cfg.UploadIdle, uploads: map[string]*multipart{}}
	if g.idle <= 0 {
		g.idle = 24 * time.Hour
	}
	for _, c := range cfg.Credentials {
		if c.AccessKey == "" || c.SecretKey == "" {
			return nil, errors.New("gateway: an S3 credential needs an access key and a secret key")
		}
		g.secrets[c.AccessKey] = c.SecretKey
	}
	return g, nil
}

// isS3 reports whether r is meant for the S3 interface: it carries a
// SigV4 signature (an Authorization header of AWS or a presigned URL).
func isS3(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Authorization"), "AWS") || r.URL.Query().Has("X-Amz-Algorithm")
}

// ServeHTTP authenticates r and runs the operation it names.
func (g *s3Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rw := &countingWriter{ResponseWriter: w, code: http.StatusOK}
	defer func() { g.obs.HTTP("s3", rw.code) }()
	rw.Header().Set("X-Amz-Request-Id", requestID())
	rw.Header().Set("Server", "emerge")
	sig, err := g.authenticate(r)
	if err == nil {
		err = g.route(rw, r, sig)
	}
	if err != nil {
		se := toS3Error(err)
		if se.status >= 500 {
			g.log.Warn().Err(err).Str("method", r.Method).Str("path", r.URL.Path).Msg("S3 request failed")
		} else {
			g.log.Debug().Err(err).Str("method", r.Method).Str("path", r.URL.Path).Msg("S3 request refused")
		}
		if rw.wrote {
			return // a body was being streamed: the connection is cut
		}
		g.writeS3Error(rw, r, se)
	}
}

// route dispatches on the path (/, /bucket, /bucket/key), the method and
// the subresource in the query.
func (g *s3Gateway) route(w *countingWriter, r *http.Request, sig *signature) error {
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	q := r.URL.Query()
	switch {
	case bucket == "":
		if r.Method != http.MethodGet {
			return s3Err(http.StatusMethodNotAllowed, "MethodNotAllowed", "%s / is not allowed", r.Method)
		}
		return g.listBuckets(w, r)
	case key == "":
		return g.routeBucket(w, r, bucket, q)
	}
	return g.routeObject(w, r, sig, bucket, key, q)
}

func (g *s3Gateway) routeBucket(w *countingWriter, r *http.Request, bucket string, q url.Values) error {
	if sub := unsupportedSub(q); sub != "" {
		return errNotImplemented("bucket subresource ?" + sub)
	}
	switch {
	case r.Method == http.MethodPut:
		return g.createBucket(w, r, bucket)
	case r.Method == http.MethodDelete:
		return g.deleteBucket(w, r, bucket)
	case r.Method == http.MethodHead:
		return g.headBucket(w, r, bucket)
	case r.Method == http.MethodPost && q.Has("delete"):
		return g.deleteObjects(w, r, bucket)
	case r.Method != http.MethodGet:
		return s3Err(http.StatusMethodNotAllowed, "MethodNotAllowed", "%s on a bucket is not allowed", r.Method)
	case q.Has("location"):
		return g.bucketLocation(w, r, bucket)
	case q.Has("versioning"):
		return g.bucketVersioning(w, r, bucket)
	case q.Has("uploads"):
		return g.listUploads(w, r, bucket)
	case q.Get("list-type") == "2":
		return g.listObjectsV2(w, r, bucket, q)
	}
	return g.listObjectsV1(w, r, bucket, q)
}

func (g *s3Gateway) routeObject(w *countingWriter, r *http.Request, sig *signature, bucket, key string, q url.Values) error {
	if sub := unsupportedSub(q); sub != "" {
		return errNotImplemented("object subresource ?" + sub)
	}
	if len(key) > maxKey || !utf8.ValidString(key) {
		return s3Err(http.StatusBadRequest, "KeyTooLongError", "a key is at most %d bytes of UTF-8", maxKey)
	}
	if metaSize(r.Header) > maxUserMeta {
		return s3Err(http.StatusBadRequest, "MetadataTooLarge", "x-amz-meta-* headers hold more than %d bytes", maxUserMeta)
	}
	copySource := r.Header.Get("X-Amz-Copy-Source")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if q.Has("uploadId") {
			return g.listParts(w, r, bucket, key, q)
		}
		return g.getObject(w, r, bucket, key)
	case http.MethodPut:
		switch {
		case q.Has("uploadId") && copySource != "":
			return errNotImplemented("UploadPartCopy")
		case q.Has("uploadId"):
			return g.uploadPart(w, r, sig, bucket, key, q)
		case copySource != "":
			return g.copyObject(w, r, bucket, key, copySource)
		}
		return g.putObject(w, r, sig, bucket, key)
	case http.MethodDelete:
		if q.Has("uploadId") {
			return g.abortUpload(w, r, bucket, key, q.Get("uploadId"))
		}
		return g.deleteObject(w, r, bucket, key)
	case http.MethodPost:
		switch {
		case q.Has("uploads"):
			return g.createUpload(w, r, bucket, key)
		case q.Has("uploadId"):
			return g.completeUpload(w, r, bucket, key, q.Get("uploadId"))
		}
	}
	return s3Err(http.StatusMethodNotAllowed, "MethodNotAllowed", "%s on an object is not allowed here", r.Method)
}

// S3's limits on a key and on the user metadata of an object.
const (
	maxKey      = 1024
	maxUserMeta = 2 << 10
)

// metaSize is the size of the x-amz-meta-* headers, names without the
// prefix and values, as S3 counts it.
func metaSize(h http.Header) int {
	n := 0
	for k, vs := range h {
		if name, ok := strings.CutPrefix(k, "X-Amz-Meta-"); ok {
			n += len(name)
			for _, v := range vs {
				n += len(v)
			}
		}
	}
	return n
}

// subresources S3 knows and this gateway does not serve: a request naming
// one fails clearly instead of acting as a plain get or put.
var subresources = []string{"acl", "analytics", "cors", "encryption", "intelligent-tiering", "inventory",
	"legal-hold", "lifecycle", "logging", "metrics", "notification", "object-lock", "ownershipControls", "policy",
	"policyStatus", "publicAccessBlock", "replication", "requestPayment", "restore", "retention", "select",
	"tagging", "torrent", "versionId", "versions", "website", "attributes", "accelerate"}

// unsupportedSub returns a subresource of q this gateway does not serve.
func unsupportedSub(q url.Values) string {
	for _, s := range subresources {
		if _, ok := q[s]; ok {
			return s
		}
	}
	return ""
}

func writeXML(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	w.Write([]byte(xml.Header))
	xml.NewEncoder(w).Encode(v)
}

// s3Time is the time format of S3's XML.
func s3Time(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func requestID() string {
	var b [8]byte
	rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

func quoteETag(e string) string { return `"` + e + `"` }

// validBucket checks S3's bucket naming rules: 3..63 characters, lower-case
// letters, digits, dots and hyphens, beginning and ending with a letter or
// digit.
func validBucket(name string) error {
	bad := len(name) < 3 || len(name) > 63
	for i := 0; i < len(name) && !bad; i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case (c == '.' || c == '-') && i > 0 && i < len(name)-1:
		default:
			bad = true
		}
	}
	if bad || strings.Contains(name, "..") {
		return fmt.Errorf("%w: %q: want 3 to 63 lower-case letters, digits, dots and hyphens", ErrInvalidBucket, name)
	}
	return nil
}
