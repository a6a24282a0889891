package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/files"
	"github.com/emerge-dev/emerge/internal/units"
)

// Headers of a PUT that set the put's options (all optional).
const (
	hdrReplicas    = "X-Emerge-Replicas"
	hdrMinReplicas = "X-Emerge-Min-Replicas"
	hdrBlockSize   = "X-Emerge-Block-Size"
	hdrMetaPrefix  = "X-Emerge-Meta-"
)

// ref serves /ref/ and /ref/<ref>.
func (s *Server) ref(w http.ResponseWriter, r *http.Request) {
	rw := &countingWriter{ResponseWriter: w, code: http.StatusOK}
	defer func() { s.cfg.Observer.HTTP("ref", rw.code) }()
	name := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/ref"), "/")
	switch {
	case name == "" && (r.Method == http.MethodPut || r.Method == http.MethodPost):
		s.put(rw, r)
	case name == "":
		rw.Header().Set("Allow", "PUT, POST")
		fail(rw, http.StatusMethodNotAllowed, errors.New("/ref/ takes PUT or POST of an object's bytes; GET, HEAD and DELETE take /ref/<ref>"))
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		s.getRef(rw, r, name)
	case r.Method == http.MethodDelete:
		s.deleteRef(rw, r, name)
	default:
		rw.Header().Set("Allow", "GET, HEAD, DELETE")
		fail(rw, http.StatusMethodNotAllowed, fmt.Errorf("%s /ref/<ref>: want GET, HEAD or DELETE (a put goes to /ref/: refs come from the content)", r.Method))
	}
}

func parseRef(name string) (blocks.Ref, error) {
	ref, err := blocks.ParseRef(name)
	if err != nil {
		return ref, fmt.Errorf("%w: %q is not a ref (64 hex digits)", blocks.ErrBadRef, clip(name))
	}
	return ref, nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

// getRef streams an object, or the ranges asked for (http.ServeContent
// does Range, If-Range, If-None-Match and HEAD from the ETag and reader).
func (s *Server) getRef(w *countingWriter, r *http.Request, name string) {
	ref, err := parseRef(name)
	if err != nil {
		fail(w, http.StatusBadRequest, err)
		return
	}
	start := time.Now()
	m, err := s.cfg.Objects.Manifest(r.Context(), ref)
	if err != nil {
		fail(w, statusOf(err), err)
		return
	}
	h := w.Header()
	h.Set("ETag", `"`+ref.String()+`"`)
	h.Set("Content-Type", contentType(m))
	h.Set("Cache-Control", "public, max-age=31536000, immutable") // a ref's bytes never change
	rd := newObjectReader(r.Context(), s.cfg.Objects, ref, m, &s.pool)
	defer rd.Close()
	if r.Method == http.MethodGet && m.Size > 0 && r.Header.Get("If-None-Match") == "" {
		// The first block the answer needs, before any header is sent: a
		// block no member can give is then a status, not a cut body.
		if err := rd.preload(firstOffset(r.Header.Get("Range"), m.Size)); err != nil {
			fail(w, statusOf(err), err)
			return
		}
	}
	http.ServeContent(w, r, "", m.Created, rd)
	s.cfg.Observer.ClientSent(rd.sent)
	if r.Method != http.MethodGet || (w.code != http.StatusOK && w.code != http.StatusPartialContent) {
		return
	}
	if w.written < w.length() {
		s.log.Warn().Str("ref", ref.Short()).Int64("sent", w.written).Int64("size", w.length()).
			Msg("HTTP get cut short")
	} else if w.code == http.StatusOK {
		s.cfg.Observer.Get(time.Since(start))
	}
}

// firstOffset is where the answer to a Range header starts, for the
// common forms (bytes=a-, bytes=a-b, bytes=-n); 0 otherwise.
func firstOffset(rng string, size int64) int64 {
	spec, ok := strings.CutPrefix(rng, "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return 0
	}
	a, b, _ := strings.Cut(strings.TrimSpace(spec), "-")
	if a == "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 {
			return 0
		}
		return max(0, size-n)
	}
	off, err := strconv.ParseInt(a, 10, 64)
	if err != nil || off < 0 || off >= size {
		return 0
	}
	return off
}

func contentType(m *blocks.Manifest) string {
	if m.ContentType != "" {
		return m.ContentType
	}
	return "application/octet-stream"
}

// putReply is the JSON a PUT answers with: the fields of `emerge put --json`.
type putReply struct {
	Ref      blocks.Ref `json:"ref"`
	Size     int64      `json:"size"`
	Blocks   int        `json:"blocks"`
	Copies   int        `json:"copies"`
	Replicas int        `json:"replicas"`
}

// put stores the request body as a new object.
func (s *Server) put(w *countingWriter, r *http.Request) {
	opts, err := putOptions(r.Header)
	if err != nil {
		fail(w, http.StatusBadRequest, err)
		return
	}
	body := &countingReader{r: r.Body}
	st, err := s.cfg.Objects.Put(r.Context(), body, opts)
	s.cfg.Observer.ClientReceived(int(body.n))
	if err != nil {
		fail(w, statusOf(err), err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("ETag", `"`+st.Ref.String()+`"`)
	h.Set("Location", "/ref/"+st.Ref.String())
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(putReply{Ref: st.Ref, Size: st.Manifest.Size, Blocks: len(st.Manifest.Blocks),
		Copies: st.Copies, Replicas: st.Manifest.Replicas})
}

// putOptions reads a put's options from the request headers.
func putOptions(h http.Header) (files.PutOptions, error) {
	var o files.PutOptions
	o.ContentType = h.Get("Content-Type")
	var err error
	if o.Replicas, err = intHeader(h, hdrReplicas); err != nil {
		return o, err
	}
	if o.MinReplicas, err = intHeader(h, hdrMinReplicas); err != nil {
		return o, err
	}
	if v := h.Get(hdrBlockSize); v != "" {
		b, err := units.Parse(v)
		if err != nil {
			return o, fmt.Errorf("%w: %s %q: %w", blocks.ErrInvalidArgument, hdrBlockSize, v, err)
		}
		o.BlockSize = int(b)
	}
	for k, vs := range h {
		if key, ok := strings.CutPrefix(k, hdrMetaPrefix); ok && key != "" {
			if o.Meta == nil {
				o.Meta = map[string]string{}
			}
			o.Meta[strings.ToLower(key)] = strings.Join(vs, ",")
		}
	}
	return o, nil
}

func intHeader(h http.Header, key string) (int, error) {
	v := h.Get(key)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%w: %s %q: want a positive integer", blocks.ErrInvalidArgument, key, v)
	}
	return n, nil
}

// deleteReply is the JSON a DELETE answers with: the fields of `emerge rm
// --json` but node.
type deleteReply struct {
	Ref     blocks.Ref `json:"ref"`
	Deleted bool       `json:"deleted"`
	Freed   int64      `json:"freed"`
}

func (s *Server) deleteRef(w *countingWriter, r *http.Request, name string) {
	ref, err := parseRef(name)
	if err != nil {
		fail(w, http.StatusBadRequest, err)
		return
	}
	freed, err := s.cfg.Objects.Delete(r.Context(), ref)
	if err != nil {
		fail(w, statusOf(err), err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(deleteReply{Ref: ref, Deleted: true, Freed: freed})
}

// countingWriter remembers the status and counts the body bytes written.
type countingWriter struct {
	http.ResponseWriter
	code    int
	written int64
	wrote   bool
}

func (w *countingWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.wrote = true
	n, err := w.ResponseWriter.Write(p)
	w.written += int64(n)
	return n, err
}

// ReadFrom is what http.ServeContent's copy of a body calls: from an
// object's reader it writes whole blocks; anything else is copied.
func (w *countingWriter) ReadFrom(src io.Reader) (int64, error) {
	if lr, ok := src.(*io.LimitedReader); ok {
		if or, ok := lr.R.(*objectReader); ok {
			n, err := or.writeTo(w, lr.N)
			lr.N -= n
			return n, err
		}
	}
	return io.Copy(struct{ io.Writer }{w}, src)
}

// length is the Content-Length announced, or -1.
func (w *countingWriter) length() int64 {
	n, err := strconv.ParseInt(w.Header().Get("Content-Length"), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
