"""Exceptions. Each non-ok wire status has its class (docs/protocol.md,
"Statuses"); a few more are raised by the client itself. All derive from
EmergeError; catch the class, never match the message.

    status  class          also a
    1       NotFound       LookupError
    2       BadRequest     ValueError
    3       TooLarge       ValueError
    4       Unavailable
    5       Internal
    6       NoSpace
    7       Deleted        NotFound (the object is gone)
    8       Unsupported
    9       Timeout        TimeoutError
    10      Canceled
    client  Unreachable    ConnectionError  (no answer from the node)
    client  BadRef         BadRequest       (a malformed ref string)
    client  Corrupt                         (a manifest or block failed its hash)
    client  NotLocal                        (shared memory asked for, not usable)
    client  PrefetchFailed                  (a target of a prefetch gave up)
    client  ClientClosed                    (the client was closed)
"""

from __future__ import annotations


class EmergeError(Exception):
    """Base of every error this package raises. status is the wire status
    (None for errors the client raises itself)."""

    status: int | None = None

    def __init__(self, message: str = "", *, op: str | None = None):
        super().__init__(message or self.__class__.__name__)
        self.op = op


class NotFound(EmergeError, LookupError):
    """Unknown ref, block or upload."""
    status = 1


class BadRequest(EmergeError, ValueError):
    """The node rejected a malformed frame, header or argument."""
    status = 2


class TooLarge(EmergeError, ValueError):
    """A frame, message or object over a cap (shared memory: over its
    whole capacity)."""
    status = 3


class Unavailable(EmergeError):
    """The node is busy, starting or stopping, or too few members are alive
    for the copies asked (min_replicas)."""
    status = 4


class Internal(EmergeError):
    """A bug or an unexpected storage error on the node."""
    status = 5


class NoSpace(EmergeError):
    """The node's disk or shared memory is full."""
    status = 6


class Deleted(NotFound):
    """The object was deleted. A NotFound, so `except NotFound` covers it."""
    status = 7


class Unsupported(EmergeError):
    """Unknown op or protocol version, or shared memory off on the node."""
    status = 8


class Timeout(EmergeError, TimeoutError):
    """The node gave up waiting on something; also a prefetch wait past its
    timeout (then status is None and .last holds the last progress)."""
    status = 9


class Canceled(EmergeError):
    """The node is shutting down."""
    status = 10


class Unreachable(EmergeError, ConnectionError):
    """No answer from the node in time."""


class BadRef(BadRequest):
    """A ref that is not 64 hex characters (or 32 bytes)."""
    status = None


class Corrupt(EmergeError):
    """Bytes from the node failed verification against their hash."""


class NotLocal(EmergeError):
    """Shared memory was required but the node is on another machine, has it
    off, or its files cannot be opened by this process."""


class PrefetchFailed(EmergeError):
    """A target of a prefetch gave up. .status_report is the last progress."""


class ClientClosed(EmergeError):
    """The client was used after close()."""


_BY_STATUS = {cls.status: cls for cls in (NotFound, BadRequest, TooLarge, Unavailable, Internal, NoSpace,
                                            Deleted, Unsupported, Timeout, Canceled)}

STATUS_NAMES = {0: "ok", 1: "not_found", 2: "bad_request", 3: "too_large", 4: "unavailable", 5: "internal",
                6: "no_space", 7: "deleted", 8: "unsupported", 9: "timeout", 10: "canceled"}


def from_status(status: int, message: str, op: str | None = None) -> EmergeError:
    """The exception for a non-ok reply. An unknown status (a newer node)
    is an EmergeError carrying the number."""
    cls = _BY_STATUS.get(status)
    if cls is None:
        err = EmergeError(f"status {status}: {message}", op=op)
        err.status = status
        return err
    return cls(message or STATUS_NAMES[status], op=op)
