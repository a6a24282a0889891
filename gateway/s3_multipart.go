package gateway

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/files"
)

// A multipart upload keeps each part as an object of its own on this node
// (one copy: parts are scratch), then Complete streams the parts, in
// order, into the final object, which gets the node's replicas, and
// deletes them. Uploads live in this node's memory: a restart forgets
// them (their parts are left as objects no key names).

type multipart struct {
	id, bucket, key string
	contentType     string
	meta            map[string]string
	created         time.Time

	mu         sync.Mutex
	parts      map[int]part
	last       time.Time
	completing bool
}

type part struct {
	ref      blocks.Ref
	size     int64
	etag     string // hex MD5 of the part
	modified time.Time
}

const maxPartNumber = 10000

type initiateResult struct {
	XMLName  xml.Name `xml:"InitiateMultipartUploadResult"`
	Xmlns    string   `xml:"xmlns,attr"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	UploadID string   `xml:"UploadId"`
}

func (g *s3Gateway) createUpload(w http.ResponseWriter, r *http.Request, bucket, key string) error {
	if err := g.writable(r.Context(), bucket, key); err != nil {
		return err
	}
	g.expireUploads(r.Context())
	var raw [16]byte
	rand.Read(raw[:])
	now := g.now().UTC()
	u := &multipart{id: hex.EncodeToString(raw[:]), bucket: bucket, key: key, contentType: contentTypeOf(r),
		meta: amzMeta(r.Header), created: now, last: now, parts: map[int]part{}}
	g.mu.Lock()
	g.uploads[u.id] = u
	g.mu.Unlock()
	writeXML(w, http.StatusOK, initiateResult{Xmlns: s3XMLNS, Bucket: bucket, Key: key, UploadID: u.id})
	return nil
}

// upload returns the open upload id of bucket/key.
func (g *s3Gateway) upload(bucket, key, id string) (*multipart, error) {
	g.mu.Lock()
	u, ok := g.uploads[id]
	g.mu.Unlock()
	if !ok || u.bucket != bucket || u.key != key {
		return nil, s3Err(http.StatusNotFound, "NoSuchUpload", "no upload %q of %s/%s (completed, aborted, expired, or the node restarted)",
			clip(id), bucket, key)
	}
	return u, nil
}

func (g *s3Gateway) uploadPart(w *countingWriter, r *http.Request, sig *signature, bucket, key string, q url.Values) error {
	n, err := strconv.Atoi(q.Get("partNumber"))
	if err != nil || n < 1 || n > maxPartNumber {
		return errInvalidArgument("partNumber %q: want 1..%d", q.Get("partNumber"), maxPartNumber)
	}
	u, err := g.upload(bucket, key, q.Get("uploadId"))
	if err != nil {
		return err
	}
	body, err := newS3Body(r, sig)
	if err != nil {
		return err
	}
	st, err := g.objs.Put(r.Context(), body, files.PutOptions{Replicas: 1, MinReplicas: 1,
		Meta: map[string]string{"s3-upload": u.id, "s3-part": strconv.Itoa(n)}})
	g.obs.ClientReceived(int(body.n))
	if err != nil {
		return err
	}
	p := part{ref: st.Ref, size: st.Manifest.Size, etag: body.etag(), modified: g.now().UTC()}
	old, err := u.add(n, p)
	if err != nil {
		g.dropObjects(r.Context(), []blocks.Ref{st.Ref})
		return err
	}
	if old != nil && old.ref != p.ref {
		g.dropObjects(r.Context(), []blocks.Ref{old.ref})
	}
	w.Header().Set("ETag", quoteETag(p.etag))
	w.WriteHeader(http.StatusOK)
	return nil
}

// add records part n and returns the one it replaced.
func (u *multipart) add(n int, p part) (*part, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.completing {
		return nil, s3Err(http.StatusNotFound, "NoSuchUpload", "upload %s is being completed", u.id)
	}
	u.last = p.modified
	old, had := u.parts[n]
	u.parts[n] = p
	if had {
		return &old, nil
	}
	return nil, nil
}

type completeRequest struct {
	Parts []struct {
		PartNumber int    `xml:"PartNumber"`
		ETag       string `xml:"ETag"`
	} `xml:"Part"`
}

type completeResult struct {
	XMLName  xml.Name `xml:"CompleteMultipartUploadResult"`
	Xmlns    string   `xml:"xmlns,attr"`
	Location string   `xml:"Location"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	ETag     string   `xml:"ETag"`
}

func (g *s3Gateway) completeUpload(w http.ResponseWriter, r *http.Request, bucket, key, id string) error {
	var req completeRequest
	if err := decodeXML(r.Body, &req); err != nil {
		return err
	}
	u, err := g.upload(bucket, key, id)
	if err != nil {
		return err
	}
	parts, err := u.begin(req)
	if err != nil {
		return err
	}
	e, err := g.assemble(r.Context(), u, parts)
	if err == nil {
		err = g.bind(r.Context(), bucket, e)
	}
	if err != nil {
		u.mu.Lock()
		u.completing = false // the client may complete again
		u.mu.Unlock()
		return err
	}
	g.finish(r.Context(), u)
	writeXML(w, http.StatusOK, completeResult{Xmlns: s3XMLNS, Location: "/" + bucket + "/" + key, Bucket: bucket, Key: key,
		ETag: quoteETag(e.ETag)})
	return nil
}

// begin checks the parts a Complete lists against those uploaded and stops
// further parts; it returns them in order.
func (u *multipart) begin(req completeRequest) ([]part, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.completing {
		return nil, s3Err(http.StatusConflict, "OperationAborted", "upload %s is being completed by another request", u.id)
	}
	if len(req.Parts) == 0 {
		return nil, s3Err(http.StatusBadRequest, "MalformedXML", "a Complete with no part")
	}
	out := make([]part, 0, len(req.Parts))
	prev := 0
	for _, rp := range req.Parts {
		if rp.PartNumber <= prev {
			return nil, s3Err(http.StatusBadRequest, "InvalidPartOrder", "part %d after part %d: list parts in ascending order", rp.PartNumber, prev)
		}
		prev = rp.PartNumber
		p, ok := u.parts[rp.PartNumber]
		if !ok || strings.Trim(rp.ETag, `"`) != p.etag {
			return nil, s3Err(http.StatusBadRequest, "InvalidPart", "part %d was not uploaded with ETag %s", rp.PartNumber, rp.ETag)
		}
		out = append(out, p)
	}
	u.completing = true
	return out, nil
}

// assemble streams the parts, in order, into the final object. Its ETag is
// the MD5 of the parts' MD5s, then "-" and the number of parts, as S3's.
func (g *s3Gateway) assemble(ctx context.Context, u *multipart, parts []part) (Entry, error) {
	readers := make([]io.Reader, len(parts))
	sum := md5.New()
	for i, p := range parts {
		m, err := g.objs.Manifest(ctx, p.ref)
		if err != nil {
			return Entry{}, fmt.Errorf("part %d: %w", i+1, err)
		}
		rd := newObjectReader(ctx, g.objs, p.ref, m, g.pool)
		defer rd.Close()
		readers[i] = rd
		b, _ := hex.DecodeString(p.etag)
		sum.Write(b)
	}
	st, err := g.objs.Put(ctx, io.MultiReader(readers...), files.PutOptions{Meta: map[string]string{metaKey: u.bucket + "/" + u.key}})
	if err != nil {
		return Entry{}, err
	}
	return Entry{Key: u.key, Ref: st.Ref, Size: st.Manifest.Size, Modified: g.now().UTC(), ContentType: u.contentType,
		Meta: u.meta, ETag: hex.EncodeToString(sum.Sum(nil)) + "-" + strconv.Itoa(len(parts))}, nil
}

// finish forgets the upload and deletes its parts.
func (g *s3Gateway) finish(ctx context.Context, u *multipart) {
	g.mu.Lock()
	delete(g.uploads, u.id)
	g.mu.Unlock()
	u.mu.Lock()
	refs := make([]blocks.Ref, 0, len(u.parts))
	for _, p := range u.parts {
		refs = append(refs, p.ref)
	}
	u.mu.Unlock()
	g.dropObjects(ctx, refs)
}

func (g *s3Gateway) abortUpload(w http.ResponseWriter, r *http.Request, bucket, key, id string) error {
	u, err := g.upload(bucket, key, id)
	if err != nil {
		return err
	}
	g.finish(r.Context(), u)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// expireUploads aborts uploads idle for longer than UploadIdle.
func (g *s3Gateway) expireUploads(ctx context.Context) {
	cutoff := g.now().Add(-g.idle)
	var stale []*multipart
	g.mu.Lock()
	for _, u := range g.uploads {
		u.mu.Lock()
		if u.last.Before(cutoff) && !u.completing {
			stale = append(stale, u)
		}
		u.mu.Unlock()
	}
	g.mu.Unlock()
	for _, u := range stale {
		g.log.Info().Str("upload", u.id).Str("key", u.bucket+"/"+u.key).Msg("S3: aborting idle multipart upload")
		g.finish(ctx, u)
	}
}

type xmlPart struct {
	PartNumber   int    `xml:"PartNumber"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
}

type listPartsResult struct {
	XMLName              xml.Name  `xml:"ListPartsResult"`
	Xmlns                string    `xml:"xmlns,attr"`
	Bucket               string    `xml:"Bucket"`
	Key                  string    `xml:"Key"`
	UploadID             string    `xml:"UploadId"`
	PartNumberMarker     int       `xml:"PartNumberMarker"`
	NextPartNumberMarker int       `xml:"NextPartNumberMarker"`
	MaxParts             int       `xml:"MaxParts"`
	IsTruncated          bool      `xml:"IsTruncated"`
	Parts                []xmlPart `xml:"Part"`
}

func (g *s3Gateway) listParts(w http.ResponseWriter, r *http.Request, bucket, key string, q url.Values) error {
	u, err := g.upload(bucket, key, q.Get("uploadId"))
	if err != nil {
		return err
	}
	marker, _ := strconv.Atoi(q.Get("part-number-marker"))
	max := 1000
	if v, err := strconv.Atoi(q.Get("max-parts")); err == nil && v >= 0 && v < max {
		max = v
	}
	res := listPartsResult{Xmlns: s3XMLNS, Bucket: bucket, Key: key, UploadID: u.id, PartNumberMarker: marker, MaxParts: max}
	u.mu.Lock()
	nums := make([]int, 0, len(u.parts))
	for n := range u.parts {
		if n > marker {
			nums = append(nums, n)
		}
	}
	sort.Ints(nums)
	for _, n := range nums {
		if len(res.Parts) == max {
			res.IsTruncated = true
			break
		}
		p := u.parts[n]
		res.Parts = append(res.Parts, xmlPart{PartNumber: n, LastModified: s3Time(p.modified), ETag: quoteETag(p.etag), Size: p.size})
		res.NextPartNumberMarker = n
	}
	u.mu.Unlock()
	writeXML(w, http.StatusOK, res)
	return nil
}

type xmlUpload struct {
	Key       string `xml:"Key"`
	UploadID  string `xml:"UploadId"`
	Initiated string `xml:"Initiated"`
}

type listUploadsResult struct {
	XMLName     xml.Name    `xml:"ListMultipartUploadsResult"`
	Xmlns       string      `xml:"xmlns,attr"`
	Bucket      string      `xml:"Bucket"`
	Prefix      string      `xml:"Prefix"`
	MaxUploads  int         `xml:"MaxUploads"`
	IsTruncated bool        `xml:"IsTruncated"`
	Uploads     []xmlUpload `xml:"Upload"`
}

// listUploads lists the bucket's open uploads (at most 1000, no paging).
func (g *s3Gateway) listUploads(w http.ResponseWriter, r *http.Request, bucket string) error {
	if _, err := g.ns.Bucket(r.Context(), bucket); err != nil {
		return err
	}
	prefix := r.URL.Query().Get("prefix")
	res := listUploadsResult{Xmlns: s3XMLNS, Bucket: bucket, Prefix: prefix, MaxUploads: 1000}
	g.mu.Lock()
	for _, u := range g.uploads {
		if u.bucket == bucket && strings.HasPrefix(u.key, prefix) && len(res.Uploads) < 1000 {
			res.Uploads = append(res.Uploads, xmlUpload{Key: u.key, UploadID: u.id, Initiated: s3Time(u.created)})
		}
	}
	g.mu.Unlock()
	sort.Slice(res.Uploads, func(i, j int) bool { return res.Uploads[i].Key < res.Uploads[j].Key })
	writeXML(w, http.StatusOK, res)
	return nil
}
