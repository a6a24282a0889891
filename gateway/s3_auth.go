package gateway

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Credentials are an access key and its secret: S3 requests must be signed
// with them (AWS Signature Version 4).
type Credentials struct {
	AccessKey, SecretKey string
}

const (
	sigAlgorithm     = "AWS4-HMAC-SHA256"
	unsignedPayload  = "UNSIGNED-PAYLOAD"
	streamingPayload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	amzDateFormat    = "20060102T150405Z"
	maxSkew          = 15 * time.Minute
	emptySHA256      = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// signature is what an authenticated request carries on to its body: the
// payload hash it declared, and what chunk signatures chain from.
type signature struct {
	payload string // hex SHA-256, UNSIGNED-PAYLOAD or STREAMING-AWS4-HMAC-SHA256-PAYLOAD
	seed    string // the request's signature
	key     []byte // the signing key
	date    string // the request's time, amz format
	scope   string // date/region/s3/aws4_request
}

// sigParams are the parts of a SigV4 signature, from the Authorization
// header or the query of a presigned URL.
type sigParams struct {
	access, scope, date, region, service string // scope = date/region/service/aws4_request
	signed                               []string
	signature                            string
	amzDate                              string
	payload                              string
	presigned                            bool
	expires                              time.Duration
}

// authenticate checks r's SigV4 signature against the credentials.
func (g *s3Gateway) authenticate(r *http.Request) (*signature, error) {
	p, err := parseSig(r)
	if err != nil {
		return nil, err
	}
	secret, ok := g.secrets[p.access]
	if !ok {
		return nil, s3Err(http.StatusForbidden, "InvalidAccessKeyId", "access key %q is not one of the node's s3 keys", p.access)
	}
	if err := checkTime(p, g.now()); err != nil {
		return nil, err
	}
	key := signingKey(secret, p.date, p.region, p.service)
	canonical := canonicalRequest(r, p)
	toSign := sigAlgorithm + "\n" + p.amzDate + "\n" + p.scope + "\n" + hexSHA256([]byte(canonical))
	want := hex.EncodeToString(hmacSHA256(key, []byte(toSign)))
	if !hmac.Equal([]byte(want), []byte(p.signature)) {
		return nil, errSignature("the request signature we calculated does not match the signature you provided; check the secret key and signing method")
	}
	return &signature{payload: p.payload, seed: p.signature, key: key, date: p.amzDate, scope: p.scope}, nil
}

func parseSig(r *http.Request) (*sigParams, error) {
	q := r.URL.Query()
	if q.Get("X-Amz-Algorithm") != "" {
		return parsePresigned(r, q)
	}
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return nil, errAccessDenied("anonymous requests are refused: sign with AWS Signature Version 4")
	}
	rest, ok := strings.CutPrefix(auth, sigAlgorithm+" ")
	if !ok {
		return nil, errMalformedAuth("only %s (Signature Version 4) is accepted", sigAlgorithm)
	}
	p := &sigParams{amzDate: r.Header.Get("X-Amz-Date"), payload: r.Header.Get("X-Amz-Content-Sha256")}
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			if err := p.credential(v); err != nil {
				return nil, err
			}
		case "SignedHeaders":
			p.signed = strings.Split(v, ";")
		case "Signature":
			p.signature = v
		}
	}
	if p.access == "" || len(p.signed) == 0 || p.signature == "" {
		return nil, errMalformedAuth("the Authorization header lacks Credential, SignedHeaders or Signature")
	}
	if p.payload == "" {
		return nil, errInvalidArgument("x-amz-content-sha256 is required")
	}
	return p, nil
}

func parsePresigned(r *http.Request, q url.Values) (*sigParams, error) {
	if q.Get("X-Amz-Algorithm") != sigAlgorithm {
		return nil, errMalformedAuth("X-Amz-Algorithm must be %s", sigAlgorithm)
	}
	p := &sigParams{presigned: true, amzDate: q.Get("X-Amz-Date"), signature: q.Get("X-Amz-Signature"),
		signed: strings.Split(q.Get("X-Amz-SignedHeaders"), ";"), payload: unsignedPayload}
	if err := p.credential(q.Get("X-Amz-Credential")); err != nil {
		return nil, err
	}
	secs, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || secs < 1 || secs > 7*24*3600 {
		return nil, errMalformedAuth("X-Amz-Expires %q: want seconds, 1..604800", q.Get("X-Amz-Expires"))
	}
	p.expires = time.Duration(secs) * time.Second
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" {
		p.payload = h
	}
	return p, nil
}

// credential reads AKID/date/region/service/aws4_request.
func (p *sigParams) credential(v string) error {
	parts := strings.Split(v, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" || parts[3] != "s3" {
		return errMalformedAuth("credential %q: want ACCESSKEY/YYYYMMDD/REGION/s3/aws4_request", v)
	}
	p.access, p.date, p.region, p.service = parts[0], parts[1], parts[2], parts[3]
	p.scope = strings.Join(parts[1:], "/")
	return nil
}

// checkTime refuses a request signed too far from now, or a presigned URL
// that has expired.
func checkTime(p *sigParams, now time.Time) error {
	t, err := time.Parse(amzDateFormat, p.amzDate)
	if err != nil {
		return errAccessDenied("x-amz-date %q: want %s", p.amzDate, amzDateFormat)
	}
	if p.amzDate[:8] != p.date {
		return errMalformedAuth("the credential's date %s is not the request's %s", p.date, p.amzDate[:8])
	}
	if p.presigned {
		if now.After(t.Add(p.expires)) || t.After(now.Add(maxSkew)) {
			return errAccessDenied("the presigned URL expired at %s", t.Add(p.expires).UTC().Format(time.RFC3339))
		}
		return nil
	}
	if d := now.Sub(t); d > maxSkew || d < -maxSkew {
		return s3Err(http.StatusForbidden, "RequestTimeTooSkewed",
			"the request time %s differs from the node's %s by more than 15 minutes", t.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}

// canonicalRequest is SigV4's canonical form of r.
func canonicalRequest(r *http.Request, p *sigParams) string {
	var b strings.Builder
	b.WriteString(r.Method + "\n")
	path := r.URL.Path
	if path == "" {
		path = "/"
	}
	b.WriteString(uriEncode(path, false) + "\n")
	b.WriteString(canonicalQuery(r.URL.RawQuery, p.presigned) + "\n")
	for _, h := range p.signed {
		b.WriteString(h + ":" + headerValue(r, h) + "\n")
	}
	b.WriteString("\n" + strings.Join(p.signed, ";") + "\n")
	b.WriteString(p.payload)
	return b.String()
}

func headerValue(r *http.Request, name string) string {
	var v string
	switch name {
	case "host":
		v = r.Host
	case "content-length":
		v = r.Header.Get("Content-Length")
		if v == "" && r.ContentLength >= 0 {
			v = strconv.FormatInt(r.ContentLength, 10)
		}
	default:
		v = strings.Join(r.Header.Values(name), ",")
	}
	return strings.Join(strings.Fields(v), " ")
}

// canonicalQuery sorts the query's parameters, each name and value encoded
// as SigV4 says; a presigned URL's own signature is left out.
func canonicalQuery(raw string, presigned bool) string {
	if raw == "" {
		return ""
	}
	var pairs []string
	for _, kv := range strings.Split(raw, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		k, v = unescape(k), unescape(v)
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		pairs = append(pairs, uriEncode(k, true)+"="+uriEncode(v, true))
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "&")
}

func unescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// uriEncode encodes every byte but A-Z a-z 0-9 - _ . ~ (and / unless
// encodeSlash) as %XX, as SigV4 wants.
func uriEncode(s string, encodeSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == '/' && !encodeSlash:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

func signingKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), []byte(date))
	k = hmacSHA256(k, []byte(region))
	k = hmacSHA256(k, []byte(service))
	return hmacSHA256(k, []byte("aws4_request"))
}

func hmacSHA256(key, data []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(data)
	return h.Sum(nil)
}

func hexSHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
