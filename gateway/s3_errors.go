package gateway

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
)

// s3Error is an S3 error: an HTTP status, a code clients switch on, and a
// message for people.
type s3Error struct {
	status int
	code   string
	msg    string
}

func (e *s3Error) Error() string { return e.code + ": " + e.msg }

func s3Err(status int, code, format string, args ...any) *s3Error {
	return &s3Error{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

func errAccessDenied(format string, args ...any) *s3Error {
	return s3Err(http.StatusForbidden, "AccessDenied", format, args...)
}

func errSignature(format string, args ...any) *s3Error {
	return s3Err(http.StatusForbidden, "SignatureDoesNotMatch", format, args...)
}

func errMalformedAuth(format string, args ...any) *s3Error {
	return s3Err(http.StatusBadRequest, "AuthorizationHeaderMalformed", format, args...)
}

func errInvalidArgument(format string, args ...any) *s3Error {
	return s3Err(http.StatusBadRequest, "InvalidArgument", format, args...)
}

func errNotImplemented(what string) *s3Error {
	return s3Err(http.StatusNotImplemented, "NotImplemented", "%s is not implemented by emerge's S3 gateway", what)
}

// toS3Error maps any error of a handler to an S3 error.
func toS3Error(err error) *s3Error {
	var se *s3Error
	switch {
	case errors.As(err, &se):
		return se
	case errors.Is(err, ErrNoSuchBucket):
		return s3Err(http.StatusNotFound, "NoSuchBucket", "%v", err)
	case errors.Is(err, ErrNoSuchKey):
		return s3Err(http.StatusNotFound, "NoSuchKey", "%v", err)
	case errors.Is(err, ErrBucketExists):
		return s3Err(http.StatusConflict, "BucketAlreadyOwnedByYou", "%v", err)
	case errors.Is(err, ErrBucketNotEmpty):
		return s3Err(http.StatusConflict, "BucketNotEmpty", "%v", err)
	case errors.Is(err, ErrInvalidBucket):
		return s3Err(http.StatusBadRequest, "InvalidBucketName", "%v", err)
	}
	switch st := statusOf(err); st {
	case http.StatusNotFound, http.StatusGone:
		return s3Err(http.StatusNotFound, "NoSuchKey", "%v", err)
	case http.StatusBadRequest:
		return s3Err(st, "InvalidRequest", "%v", err)
	case http.StatusRequestEntityTooLarge:
		return s3Err(http.StatusBadRequest, "EntityTooLarge", "%v", err)
	case http.StatusServiceUnavailable:
		return s3Err(st, "ServiceUnavailable", "%v", err)
	case http.StatusInsufficientStorage:
		return s3Err(st, "InsufficientStorage", "%v", err)
	case http.StatusGatewayTimeout:
		return s3Err(http.StatusServiceUnavailable, "ServiceUnavailable", "%v", err)
	}
	return s3Err(http.StatusInternalServerError, "InternalError", "%v", err)
}

type xmlError struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Resource  string   `xml:"Resource,omitempty"`
	RequestID string   `xml:"RequestId"`
}

// writeS3Error answers with err as S3's XML error (no body to a HEAD).
func (g *s3Gateway) writeS3Error(w http.ResponseWriter, r *http.Request, err error) {
	se := toS3Error(err)
	h := w.Header()
	h.Del("Content-Length")
	h.Del("ETag")
	h.Del("Last-Modified")
	if r.Method == http.MethodHead {
		w.WriteHeader(se.status)
		return
	}
	writeXML(w, se.status, xmlError{Code: se.code, Message: se.msg, Resource: r.URL.Path, RequestID: h.Get("X-Amz-Request-Id")})
}
