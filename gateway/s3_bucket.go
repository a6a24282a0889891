package gateway

import (
	"encoding/base64"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

type xmlOwner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

var owner = xmlOwner{ID: "emerge", DisplayName: "emerge"}

type xmlBucket struct {
	Name         string `xml:"Name"`
	CreationDate string `xml:"CreationDate"`
}

type listAllMyBucketsResult struct {
	XMLName xml.Name    `xml:"ListAllMyBucketsResult"`
	Xmlns   string      `xml:"xmlns,attr"`
	Owner   xmlOwner    `xml:"Owner"`
	Buckets []xmlBucket `xml:"Buckets>Bucket"`
}

func (g *s3Gateway) listBuckets(w http.ResponseWriter, r *http.Request) error {
	bs, err := g.ns.Buckets(r.Context())
	if err != nil {
		return err
	}
	res := listAllMyBucketsResult{Xmlns: s3XMLNS, Owner: owner, Buckets: []xmlBucket{}}
	for _, b := range bs {
		res.Buckets = append(res.Buckets, xmlBucket{Name: b.Name, CreationDate: s3Time(b.Created)})
	}
	writeXML(w, http.StatusOK, res)
	return nil
}

func (g *s3Gateway) createBucket(w http.ResponseWriter, r *http.Request, bucket string) error {
	if err := validBucket(bucket); err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(r.Body, 64<<10)) // a CreateBucketConfiguration (region) is accepted and ignored
	if err := g.ns.CreateBucket(r.Context(), bucket); err != nil {
		return err
	}
	w.Header().Set("Location", "/"+bucket)
	w.WriteHeader(http.StatusOK)
	return nil
}

func (g *s3Gateway) deleteBucket(w http.ResponseWriter, r *http.Request, bucket string) error {
	if err := g.ns.DeleteBucket(r.Context(), bucket); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (g *s3Gateway) headBucket(w http.ResponseWriter, r *http.Request, bucket string) error {
	if _, err := g.ns.Bucket(r.Context(), bucket); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

type locationConstraint struct {
	XMLName xml.Name `xml:"LocationConstraint"`
	Xmlns   string   `xml:"xmlns,attr"`
	Value   string   `xml:",chardata"`
}

// bucketLocation answers the default region (an empty constraint), which
// clients read as us-east-1: any region they sign with is accepted.
func (g *s3Gateway) bucketLocation(w http.ResponseWriter, r *http.Request, bucket string) error {
	if _, err := g.ns.Bucket(r.Context(), bucket); err != nil {
		return err
	}
	writeXML(w, http.StatusOK, locationConstraint{Xmlns: s3XMLNS})
	return nil
}

type versioningConfiguration struct {
	XMLName xml.Name `xml:"VersioningConfiguration"`
	Xmlns   string   `xml:"xmlns,attr"`
}

// bucketVersioning answers that versioning was never enabled.
func (g *s3Gateway) bucketVersioning(w http.ResponseWriter, r *http.Request, bucket string) error {
	if _, err := g.ns.Bucket(r.Context(), bucket); err != nil {
		return err
	}
	writeXML(w, http.StatusOK, versioningConfiguration{Xmlns: s3XMLNS})
	return nil
}

type xmlObject struct {
	Key          string    `xml:"Key"`
	LastModified string    `xml:"LastModified"`
	ETag         string    `xml:"ETag"`
	Size         int64     `xml:"Size"`
	StorageClass string    `xml:"StorageClass"`
	Owner        *xmlOwner `xml:"Owner,omitempty"`
}

type xmlPrefix struct {
	Prefix string `xml:"Prefix"`
}

type listBucketResult struct {
	XMLName               xml.Name    `xml:"ListBucketResult"`
	Xmlns                 string      `xml:"xmlns,attr"`
	Name                  string      `xml:"Name"`
	Prefix                string      `xml:"Prefix"`
	Marker                *string     `xml:"Marker,omitempty"`
	NextMarker            string      `xml:"NextMarker,omitempty"`
	StartAfter            string      `xml:"StartAfter,omitempty"`
	ContinuationToken     string      `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string      `xml:"NextContinuationToken,omitempty"`
	KeyCount              *int        `xml:"KeyCount,omitempty"`
	MaxKeys               int         `xml:"MaxKeys"`
	Delimiter             string      `xml:"Delimiter,omitempty"`
	EncodingType          string      `xml:"EncodingType,omitempty"`
	IsTruncated           bool        `xml:"IsTruncated"`
	Contents              []xmlObject `xml:"Contents"`
	CommonPrefixes        []xmlPrefix `xml:"CommonPrefixes"`
}

// listing is one page of a bucket's keys under a prefix, rolled up into
// common prefixes at the delimiter.
type listing struct {
	entries   []Entry
	prefixes  []string
	truncated bool
	last      string // the last key or common prefix returned
}

// afterAll sorts after every key that starts with p: keys are UTF-8, so
// no key holds the byte 0xff.
func afterAll(p string) string { return p + "\xff" }

// list pages through the namespace from after, rolling keys up into
// common prefixes, until max keys and prefixes are collected.
func (g *s3Gateway) list(r *http.Request, bucket, prefix, delim, after string, max int) (*listing, error) {
	l := &listing{}
	if delim != "" && strings.HasSuffix(after, delim) && strings.HasPrefix(after, prefix) {
		after = afterAll(after) // resuming after a common prefix: skip its keys
	}
	for {
		page, more, err := g.ns.List(r.Context(), bucket, prefix, after, 1000)
		if err != nil {
			return nil, err
		}
		skipped := false
		for _, e := range page {
			if len(l.entries)+len(l.prefixes) == max {
				l.truncated = true
				return l, nil
			}
			if cp, ok := commonPrefix(e.Key, prefix, delim); ok {
				l.prefixes = append(l.prefixes, cp)
				l.last, after, skipped = cp, afterAll(cp), true
				break // ask again past every key under cp
			}
			l.entries = append(l.entries, e)
			l.last, after = e.Key, e.Key
		}
		if !more && !skipped {
			return l, nil
		}
	}
}

func commonPrefix(key, prefix, delim string) (string, bool) {
	if delim == "" {
		return "", false
	}
	i := strings.Index(key[len(prefix):], delim)
	if i < 0 {
		return "", false
	}
	return key[:len(prefix)+i+len(delim)], true
}

// maxKeys reads max-keys (default and cap 1000).
func maxKeys(q url.Values) (int, error) {
	v := q.Get("max-keys")
	if v == "" {
		return 1000, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, errInvalidArgument("max-keys %q: want a non-negative integer", v)
	}
	return min(n, 1000), nil
}

func (g *s3Gateway) listObjectsV1(w http.ResponseWriter, r *http.Request, bucket string, q url.Values) error {
	max, err := maxKeys(q)
	if err != nil {
		return err
	}
	prefix, delim, marker := q.Get("prefix"), q.Get("delimiter"), q.Get("marker")
	l, err := g.list(r, bucket, prefix, delim, marker, max)
	if err != nil {
		return err
	}
	enc := encoder(q)
	res := listBucketResult{Xmlns: s3XMLNS, Name: bucket, Prefix: enc(prefix), MaxKeys: max, Delimiter: enc(delim),
		IsTruncated: l.truncated, EncodingType: q.Get("encoding-type")}
	m := enc(marker)
	res.Marker = &m
	if l.truncated {
		res.NextMarker = enc(l.last)
	}
	fill(&res, l, enc, true)
	writeXML(w, http.StatusOK, res)
	return nil
}

func (g *s3Gateway) listObjectsV2(w http.ResponseWriter, r *http.Request, bucket string, q url.Values) error {
	max, err := maxKeys(q)
	if err != nil {
		return err
	}
	prefix, delim := q.Get("prefix"), q.Get("delimiter")
	after := q.Get("start-after")
	token := q.Get("continuation-token")
	if token != "" {
		b, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil {
			return errInvalidArgument("continuation-token %q was not made by this gateway", clip(token))
		}
		after = string(b)
	}
	l, err := g.list(r, bucket, prefix, delim, after, max)
	if err != nil {
		return err
	}
	enc := encoder(q)
	count := len(l.entries) + len(l.prefixes)
	res := listBucketResult{Xmlns: s3XMLNS, Name: bucket, Prefix: enc(prefix), MaxKeys: max, Delimiter: enc(delim),
		IsTruncated: l.truncated, EncodingType: q.Get("encoding-type"), KeyCount: &count,
		StartAfter: enc(q.Get("start-after")), ContinuationToken: token}
	if l.truncated {
		res.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(l.last))
	}
	fill(&res, l, enc, q.Get("fetch-owner") == "true")
	writeXML(w, http.StatusOK, res)
	return nil
}

func fill(res *listBucketResult, l *listing, enc func(string) string, withOwner bool) {
	for _, e := range l.entries {
		o := xmlObject{Key: enc(e.Key), LastModified: s3Time(e.Modified), ETag: quoteETag(e.ETag), Size: e.Size,
			StorageClass: "STANDARD"}
		if withOwner {
			o.Owner = &owner
		}
		res.Contents = append(res.Contents, o)
	}
	for _, p := range l.prefixes {
		res.CommonPrefixes = append(res.CommonPrefixes, xmlPrefix{Prefix: enc(p)})
	}
}

// encoder returns how keys are written in a listing: as they are, or URL
// encoded when the client asked (encoding-type=url).
func encoder(q url.Values) func(string) string {
	if q.Get("encoding-type") == "url" {
		return url.QueryEscape
	}
	return func(s string) string { return s }
}

// deleteObjects is the multi-object delete (POST /bucket?delete).
type deleteRequest struct {
	Quiet   bool `xml:"Quiet"`
	Objects []struct {
		Key string `xml:"Key"`
	} `xml:"Object"`
}

type deleteResult struct {
	XMLName xml.Name `xml:"DeleteResult"`
	Xmlns   string   `xml:"xmlns,attr"`
	Deleted []struct {
		Key string `xml:"Key"`
	} `xml:"Deleted"`
	Errors []xmlDeleteError `xml:"Error"`
}

type xmlDeleteError struct {
	Key     string `xml:"Key"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

func (g *s3Gateway) deleteObjects(w http.ResponseWriter, r *http.Request, bucket string) error {
	var req deleteRequest
	if err := decodeXML(r.Body, &req); err != nil {
		return err
	}
	if len(req.Objects) > 1000 {
		return s3Err(http.StatusBadRequest, "MalformedXML", "%d keys: at most 1000 per request", len(req.Objects))
	}
	if _, err := g.ns.Bucket(r.Context(), bucket); err != nil {
		return err
	}
	res := deleteResult{Xmlns: s3XMLNS}
	for _, o := range req.Objects {
		if err := g.removeKey(r, bucket, o.Key); err != nil {
			se := toS3Error(err)
			res.Errors = append(res.Errors, xmlDeleteError{Key: o.Key, Code: se.code, Message: se.msg})
			continue
		}
		if !req.Quiet {
			res.Deleted = append(res.Deleted, struct {
				Key string `xml:"Key"`
			}{o.Key})
		}
	}
	writeXML(w, http.StatusOK, res)
	return nil
}

// decodeXML reads a request's XML body, at most 1 MiB.
func decodeXML(body io.Reader, v any) error {
	b, err := io.ReadAll(io.LimitReader(body, 1<<20+1))
	if err != nil {
		return err
	}
	if len(b) > 1<<20 {
		return s3Err(http.StatusBadRequest, "MalformedXML", "the XML body is over 1 MiB")
	}
	if err := xml.Unmarshal(b, v); err != nil {
		return s3Err(http.StatusBadRequest, "MalformedXML", "%v", err)
	}
	return nil
}
