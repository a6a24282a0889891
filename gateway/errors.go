package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/rpc"
)

// statusOf maps an error of the object service to an HTTP status.
func statusOf(err error) int {
	switch {
	case errors.Is(err, blocks.ErrDeleted):
		return http.StatusGone
	case errors.Is(err, io.ErrUnexpectedEOF):
		return http.StatusBadRequest // the request body ended early
	case errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable
	}
	switch rpc.StatusOf(err) {
	case rpc.StatusNotFound:
		return http.StatusNotFound
	case rpc.StatusBadRequest:
		return http.StatusBadRequest
	case rpc.StatusTooLarge:
		return http.StatusRequestEntityTooLarge
	case rpc.StatusUnavailable, rpc.StatusCanceled:
		return http.StatusServiceUnavailable
	case rpc.StatusNoSpace:
		return http.StatusInsufficientStorage
	case rpc.StatusUnsupported:
		return http.StatusNotImplemented
	case rpc.StatusTimeout:
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

// fail answers with status and err as one line of text.
func fail(w http.ResponseWriter, status int, err error) {
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	h := w.Header()
	h.Del("Content-Length")
	h.Del("ETag")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	io.WriteString(w, msg+"\n")
}
