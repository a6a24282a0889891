package rpc

import (
	"context"
	"errors"
	"fmt"

	"github.com/emerge-dev/emerge/blocks"
)

// Sentinel errors of the rpc layer.
var (
	// ErrBadRequest: a request was malformed (frames, header, arguments).
	ErrBadRequest = errors.New("bad request")
	// ErrTooLarge: a frame, message or object exceeds a cap.
	ErrTooLarge = errors.New("too large")
	// ErrUnavailable: the node is busy or cannot serve the request now.
	ErrUnavailable = errors.New("unavailable")
	// ErrUnsupported: unknown op or protocol version.
	ErrUnsupported = errors.New("unsupported")
	// ErrUnreachable: no answer from the endpoint in time, or it disconnected.
	ErrUnreachable = errors.New("unreachable")
	// ErrRemote: the node reported an internal error.
	ErrRemote = errors.New("remote error")
	// ErrClosed: the connection or server was closed.
	ErrClosed = errors.New("closed")
	// ErrDenied: the node refused this client: no cluster secret or key,
	// the wrong one, or a key not (or no longer) allowed.
	ErrDenied = errors.New("access denied")
	// ErrConflict: a conditional write found the state changed (a name's
	// compare-and-set saw another version).
	ErrConflict = errors.New("conflict")
)

// StatusError is a non-ok reply. It matches the sentinel of its status with
// errors.Is, so callers test errors.Is(err, blocks.ErrNotFound) whether the
// error came from a local store or over the wire.
type StatusError struct {
	Status Status
	Msg    string
}

func (e *StatusError) Error() string {
	if e.Msg == "" {
		return e.Status.String()
	}
	return e.Msg
}

// Is maps the status to the sentinel errors.
func (e *StatusError) Is(target error) bool {
	s, ok := statusOfSentinel(target)
	return ok && s == e.Status
}

// sentinels maps errors to statuses, in precedence order.
var sentinels = []struct {
	err    error
	status Status
}{
	{blocks.ErrNotFound, StatusNotFound},
	{blocks.ErrDeleted, StatusDeleted},
	{blocks.ErrNoSpace, StatusNoSpace},
	{blocks.ErrBadRef, StatusBadRequest},
	{blocks.ErrBadManifest, StatusBadRequest},
	{blocks.ErrBadBlockSize, StatusBadRequest},
	{ErrBadRequest, StatusBadRequest},
	{ErrTooLarge, StatusTooLarge},
	{ErrUnavailable, StatusUnavailable},
	{ErrUnsupported, StatusUnsupported},
	{ErrDenied, StatusDenied},
	{ErrConflict, StatusConflict},
	{context.DeadlineExceeded, StatusTimeout},
	{context.Canceled, StatusCanceled},
	{ErrRemote, StatusInternal},
}

func statusOfSentinel(target error) (Status, bool) {
	for _, s := range sentinels {
		if s.err == target {
			return s.status, true
		}
	}
	return 0, false
}

// StatusOf maps an error to the wire status it is reported with. Unknown
// errors are internal.
func StatusOf(err error) Status {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return s.status
		}
	}
	return StatusInternal
}

// Errorf builds an error wrapping a sentinel, e.g. Errorf(ErrBadRequest, "bad ref %q", s).
func Errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}
