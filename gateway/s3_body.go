package gateway

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// s3Body is the body of a put: the bytes as the client meant them (an
// aws-chunked body decoded, every chunk signature checked), checked at its
// end against the payload hash the request was signed with and its
// Content-MD5, and hashed with MD5 for the ETag. A mismatch is an error
// from the last Read, so the put reading it fails and stores nothing.
type s3Body struct {
	r       io.Reader
	md5     hash.Hash
	sha     hash.Hash // nil: nothing to check
	wantSHA []byte
	wantMD5 []byte
	size    int64 // bytes the client said (-1: unknown)
	n       int64
	err     error // sticky
}

func newS3Body(r *http.Request, sig *signature) (*s3Body, error) {
	b := &s3Body{r: r.Body, md5: md5.New(), size: r.ContentLength}
	if v := r.Header.Get("Content-Md5"); v != "" {
		m, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(m) != md5.Size {
			return nil, s3Err(http.StatusBadRequest, "InvalidDigest", "Content-MD5 %q is not a base64 MD5", v)
		}
		b.wantMD5 = m
	}
	switch p := sig.payload; {
	case p == unsignedPayload:
	case p == streamingPayload:
		n, err := strconv.ParseInt(r.Header.Get("X-Amz-Decoded-Content-Length"), 10, 64)
		if err != nil || n < 0 {
			return nil, s3Err(http.StatusLengthRequired, "MissingContentLength", "an aws-chunked body needs x-amz-decoded-content-length")
		}
		b.r, b.size = newChunkReader(r.Body, sig), n
	case strings.HasPrefix(p, "STREAMING-"):
		return nil, errNotImplemented("payload " + p)
	default:
		want, err := hex.DecodeString(p)
		if err != nil || len(want) != sha256.Size {
			return nil, errInvalidArgument("x-amz-content-sha256 %q is not a SHA-256, %s or %s", p, unsignedPayload, streamingPayload)
		}
		b.sha, b.wantSHA = sha256.New(), want
	}
	return b, nil
}

func (b *s3Body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	b.md5.Write(p[:n])
	if b.sha != nil {
		b.sha.Write(p[:n])
	}
	if errors.Is(err, io.EOF) {
		err = b.check()
	}
	if err != nil {
		b.err = err
	}
	return n, err
}

// check runs at the end of the body.
func (b *s3Body) check() error {
	switch {
	case b.size >= 0 && b.n != b.size:
		return s3Err(http.StatusBadRequest, "IncompleteBody", "the body has %d bytes, the request said %d", b.n, b.size)
	case b.sha != nil && !bytes.Equal(b.sha.Sum(nil), b.wantSHA):
		return s3Err(http.StatusBadRequest, "XAmzContentSHA256Mismatch", "the body's SHA-256 is not x-amz-content-sha256")
	case b.wantMD5 != nil && !bytes.Equal(b.md5.Sum(nil), b.wantMD5):
		return s3Err(http.StatusBadRequest, "BadDigest", "the body's MD5 is not Content-MD5")
	}
	return io.EOF
}

// etag is the hex MD5 of the bytes read.
func (b *s3Body) etag() string { return hex.EncodeToString(b.md5.Sum(nil)) }

// chunkReader decodes an aws-chunked body (STREAMING-AWS4-HMAC-SHA256-PAYLOAD):
//
//	hex-size;chunk-signature=SIG\r\n DATA \r\n ... 0;chunk-signature=SIG\r\n\r\n
//
// Each chunk's signature chains from the previous one (the request's
// signature first) and covers the chunk's SHA-256; a chunk whose signature
// does not match fails the read after it.
type chunkReader struct {
	r    *bufio.Reader
	sig  *signature
	prev string
	left int64  // data bytes left in the chunk
	want string // the chunk's declared signature
	sha  hash.Hash
	done bool
}

// maxChunk caps a chunk's declared size (clients send 64 KiB to 8 MiB).
const maxChunk = 64 << 20

func newChunkReader(r io.Reader, sig *signature) *chunkReader {
	return &chunkReader{r: bufio.NewReaderSize(r, 64<<10), sig: sig, prev: sig.seed, sha: sha256.New(), left: -1}
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for c.left <= 0 {
		if c.done {
			return 0, io.EOF
		}
		if c.left == 0 {
			if err := c.endChunk(); err != nil {
				return 0, err
			}
		}
		if err := c.startChunk(); err != nil {
			return 0, err
		}
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.sha.Write(p[:n])
	c.left -= int64(n)
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// startChunk reads a chunk header; the final, empty chunk is checked at once.
func (c *chunkReader) startChunk() error {
	line, err := c.r.ReadString('\n')
	if err != nil {
		return s3Err(http.StatusBadRequest, "IncompleteBody", "aws-chunked body ended inside a chunk header")
	}
	size, ext, _ := strings.Cut(strings.TrimRight(line, "\r\n"), ";")
	n, err := strconv.ParseInt(size, 16, 64)
	sigv, ok := strings.CutPrefix(ext, "chunk-signature=")
	if err != nil || n < 0 || n > maxChunk || !ok {
		return errInvalidArgument("malformed aws-chunked header %q", clip(line))
	}
	c.left, c.want = n, sigv
	c.sha.Reset()
	if n == 0 {
		c.done = true
		if err := c.verify(); err != nil {
			return err
		}
		c.r.ReadString('\n') // the final CRLF (or trailers, which are not signed here)
	}
	return nil
}

// endChunk checks the CRLF after a chunk's data, then its signature.
func (c *chunkReader) endChunk() error {
	var crlf [2]byte
	if _, err := io.ReadFull(c.r, crlf[:]); err != nil || crlf != [2]byte{'\r', '\n'} {
		return errInvalidArgument("aws-chunked chunk not followed by CRLF")
	}
	return c.verify()
}

func (c *chunkReader) verify() error {
	toSign := "AWS4-HMAC-SHA256-PAYLOAD\n" + c.sig.date + "\n" + c.sig.scope + "\n" + c.prev + "\n" + emptySHA256 + "\n" +
		hex.EncodeToString(c.sha.Sum(nil))
	got := hex.EncodeToString(hmacSHA256(c.sig.key, []byte(toSign)))
	if !hmac.Equal([]byte(got), []byte(c.want)) {
		return errSignature("a chunk signature of the aws-chunked body does not match")
	}
	c.prev = c.want
	c.left = -1
	return nil
}
