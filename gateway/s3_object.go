package gateway

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/files"
)

// metaKey is the object metadata that ties an object stored through S3 to
// its bucket and key. It is part of the object's identity, so an S3 object
// never shares its ref (its manifest) with an object put another way, and
// deleting the key can delete the object. Blocks are still shared.
const metaKey = "s3-key"

func (g *s3Gateway) getObject(w *countingWriter, r *http.Request, bucket, key string) error {
	e, err := g.ns.Get(r.Context(), bucket, key)
	if err != nil {
		return err
	}
	m, err := g.objs.Manifest(r.Context(), e.Ref)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("ETag", quoteETag(e.ETag))
	h.Set("Content-Type", e.ContentType)
	h.Set("Accept-Ranges", "bytes")
	for k, v := range e.Meta {
		h.Set("X-Amz-Meta-"+k, v)
	}
	rd := newObjectReader(r.Context(), g.objs, e.Ref, m, g.pool)
	defer rd.Close()
	if r.Method == http.MethodGet && m.Size > 0 && r.Header.Get("If-None-Match") == "" {
		if err := rd.preload(firstOffset(r.Header.Get("Range"), m.Size)); err != nil {
			return err
		}
	}
	start := time.Now()
	http.ServeContent(w, r, "", e.Modified, rd)
	g.obs.ClientSent(rd.sent)
	if r.Method == http.MethodGet && w.code == http.StatusOK && w.written == m.Size {
		g.obs.Get(time.Since(start))
	}
	return nil
}

// putObject stores the body and names it bucket/key.
func (g *s3Gateway) putObject(w *countingWriter, r *http.Request, sig *signature, bucket, key string) error {
	if err := g.writable(r.Context(), bucket, key); err != nil {
		return err
	}
	body, err := newS3Body(r, sig)
	if err != nil {
		return err
	}
	st, err := g.objs.Put(r.Context(), body, files.PutOptions{Meta: map[string]string{metaKey: bucket + "/" + key}})
	g.obs.ClientReceived(int(body.n))
	if err != nil {
		return err
	}
	e := Entry{Key: key, Ref: st.Ref, Size: st.Manifest.Size, ETag: body.etag(), Modified: g.now().UTC(),
		ContentType: contentTypeOf(r), Meta: amzMeta(r.Header)}
	if err := g.bind(r.Context(), bucket, e); err != nil {
		return err
	}
	w.Header().Set("ETag", quoteETag(e.ETag))
	w.WriteHeader(http.StatusOK)
	return nil
}

// writable checks that bucket exists and can hold key, before any byte
// is stored.
func (g *s3Gateway) writable(ctx context.Context, bucket, key string) error {
	if _, err := g.ns.Bucket(ctx, bucket); err != nil {
		return err
	}
	return g.ns.CheckKey(bucket, key)
}

// bind names e in bucket and deletes the objects no key names any more.
func (g *s3Gateway) bind(ctx context.Context, bucket string, e Entry) error {
	unused, err := g.ns.Put(ctx, bucket, e)
	if err != nil {
		return err
	}
	g.dropObjects(ctx, unused)
	return nil
}

// dropObjects deletes objects no key names, best effort: a failure leaves
// an object nothing names, which costs space, not correctness.
func (g *s3Gateway) dropObjects(ctx context.Context, refs []blocks.Ref) {
	for _, ref := range refs {
		if _, err := g.objs.Delete(ctx, ref); err != nil && !errors.Is(err, blocks.ErrNotFound) {
			g.log.Warn().Err(err).Str("ref", ref.Short()).Msg("S3: object no key names was not deleted")
		}
	}
}

func contentTypeOf(r *http.Request) string {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		return ct
	}
	return "binary/octet-stream" // what S3 answers for an object put without one
}

// amzMeta collects the x-amz-meta-* headers: lower-case names without the
// prefix.
func amzMeta(h http.Header) map[string]string {
	var m map[string]string
	for k, vs := range h {
		if name, ok := strings.CutPrefix(k, "X-Amz-Meta-"); ok && name != "" {
			if m == nil {
				m = map[string]string{}
			}
			m[strings.ToLower(name)] = strings.Join(vs, ",")
		}
	}
	return m
}

type copyObjectResult struct {
	XMLName      xml.Name `xml:"CopyObjectResult"`
	Xmlns        string   `xml:"xmlns,attr"`
	LastModified string   `xml:"LastModified"`
	ETag         string   `xml:"ETag"`
}

// copyObject names the source's object under a new key too: no byte is
// copied. REPLACE takes the content type and metadata of the request.
func (g *s3Gateway) copyObject(w http.ResponseWriter, r *http.Request, bucket, key, source string) error {
	src, err := url.PathUnescape(strings.TrimPrefix(source, "/"))
	if err != nil {
		return errInvalidArgument("x-amz-copy-source %q is not URL-encoded bucket/key", clip(source))
	}
	src, _, _ = strings.Cut(src, "?versionId=")
	sb, sk, ok := strings.Cut(src, "/")
	if !ok || sk == "" {
		return errInvalidArgument("x-amz-copy-source %q: want bucket/key", clip(source))
	}
	if err := g.writable(r.Context(), bucket, key); err != nil {
		return err
	}
	e, err := g.ns.Get(r.Context(), sb, sk)
	if err != nil {
		return err
	}
	if _, err := g.objs.Manifest(r.Context(), e.Ref); err != nil {
		return err
	}
	e.Key, e.Modified = key, g.now().UTC()
	if r.Header.Get("X-Amz-Metadata-Directive") == "REPLACE" {
		e.ContentType, e.Meta = contentTypeOf(r), amzMeta(r.Header)
	}
	if err := g.bind(r.Context(), bucket, e); err != nil {
		return err
	}
	writeXML(w, http.StatusOK, copyObjectResult{Xmlns: s3XMLNS, LastModified: s3Time(e.Modified), ETag: quoteETag(e.ETag)})
	return nil
}

// deleteObject answers 204 whether the key existed or not, as S3 does.
func (g *s3Gateway) deleteObject(w http.ResponseWriter, r *http.Request, bucket, key string) error {
	if err := g.removeKey(r, bucket, key); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// removeKey deletes a key and the object no other key names; a missing key
// is not an error, a missing bucket is.
func (g *s3Gateway) removeKey(r *http.Request, bucket, key string) error {
	unused, err := g.ns.Delete(r.Context(), bucket, key)
	if errors.Is(err, ErrNoSuchKey) {
		return nil
	}
	if err != nil {
		return err
	}
	g.dropObjects(r.Context(), unused)
	return nil
}
