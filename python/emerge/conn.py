"""One DEALER connection to a node, carrying many requests in flight.

The node speaks the REQ envelope, so every message starts with an empty
delimiter frame; replies come back in any order and are matched by the
request id. The connection has no thread of its own: whoever waits for a
reply reads the socket, and files replies for other requests in a table
until their waiters come for them. A lock serialises the socket, so a
Conn may be shared between threads (each call holds it for at most a
poll slice).
"""

from __future__ import annotations

import threading
import time

import msgpack
import zmq

from . import errors, wire

# How long one waiter holds the socket before letting others send.
_SLICE = 0.05


class Reply:
    """A decoded reply: its header map and data frames (memoryviews over
    the received frames, no copy)."""

    __slots__ = ("header", "data")

    def __init__(self, header: dict, data: list):
        self.header = header
        self.data = data

    def get(self, key, default=None):
        return self.header.get(key, default)

    def __getitem__(self, key):
        return self.header[key]


class Conn:
    def __init__(self, ctx: zmq.Context, endpoint: str, timeout: float):
        self.endpoint = endpoint
        self.timeout = timeout
        self._lock = threading.Lock()
        self._sock = ctx.socket(zmq.DEALER)
        self._sock.setsockopt(zmq.LINGER, 0)
        # A frame over the protocol's cap drops the connection (requests then
        # time out) instead of being allocated.
        self._sock.setsockopt(zmq.MAXMSGSIZE, wire.MAX_FRAME)
        try:
            self._sock.connect(endpoint)
        except zmq.ZMQError as e:
            self._sock.close(0)
            raise errors.BadRequest(f"endpoint {endpoint!r}: {e}") from None
        self._next = 1
        self._ops: dict[int, int] = {}      # id -> op of requests whose reply is awaited
        self._done: dict[int, object] = {}  # id -> Reply or EmergeError, received, not yet collected
        self._closed = False

    # Sending.

    def send(self, op: int, fields: dict | None = None, data=()) -> int:
        """Sends one request and returns its id. data is a sequence of
        bytes-like frames, sent without a copy."""
        with self._lock:
            self._check_open()
            rid = self._next
            self._next += 1
            head = {"v": wire.VERSION, "op": op, "id": rid}
            if fields:
                head.update(fields)
            frames = [b"", msgpack.packb(head, use_bin_type=True)]
            frames.extend(data)
            self._sock.send_multipart(frames, copy=False)
            self._ops[rid] = op
            return rid

    # Receiving.

    def wait(self, rid: int, timeout: float | None = None) -> Reply:
        """The reply to request rid; a non-ok status raises its exception,
        no reply within timeout (default: the connection's) Unreachable."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            with self._lock:
                if rid in self._done:
                    return self._collect(rid)
                self._check_open()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self._timed_out([rid], timeout)
                self._pump(min(left, _SLICE))

    def wait_any(self, rids, timeout: float | None = None) -> tuple[int, Reply]:
        """The first reply to arrive among rids (a set or list): (id,
        reply). A non-ok status raises its exception."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            with self._lock:
                for rid in rids:
                    if rid in self._done:
                        return rid, self._collect(rid)
                self._check_open()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self._timed_out(list(rids), timeout)
                self._pump(min(left, _SLICE))

    def call(self, op: int, fields: dict | None = None, data=(), timeout: float | None = None) -> Reply:
        rid = self.send(op, fields, data)
        return self.wait(rid, timeout)

    def forget(self, rids) -> None:
        """Stops waiting for rids: their replies are dropped on arrival."""
        with self._lock:
            for rid in rids:
                self._ops.pop(rid, None)
                self._done.pop(rid, None)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._ops.clear()
            self._done.clear()
            self._sock.close(0)

    # Internals; the lock is held.

    def _check_open(self):
        if self._closed:
            raise errors.ClientClosed("client is closed")

    def _collect(self, rid):
        v = self._done.pop(rid)
        if isinstance(v, Exception):
            raise v
        return v

    def _timed_out(self, rids, timeout):
        op = wire.op_name(self._ops.get(rids[0], 0)) if rids else "request"
        for rid in rids:
            self._ops.pop(rid, None)
        t = self.timeout if timeout is None else timeout
        return errors.Unreachable(f"no reply from {self.endpoint} to {op} within {t:g}s", op=op)

    def _pump(self, timeout: float) -> None:
        """Waits up to timeout for messages and files every one ready."""
        if not self._sock.poll(int(timeout * 1000) + 1, zmq.POLLIN):
            return
        while True:
            try:
                frames = self._sock.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            self._file(frames)

    def _file(self, frames) -> None:
        if len(frames) < 2 or len(frames[0]) != 0 or len(frames[1]) > wire.MAX_HEADER:
            return  # not a reply in the REQ envelope: nobody can be told
        try:
            head = msgpack.unpackb(frames[1].bytes, raw=False)
            rid = head["id"]
        except Exception:  # a malformed header names no waiter
            return
        op = self._ops.pop(rid, None) if isinstance(rid, int) else None
        if op is None:
            return  # a reply nobody waits for any more (forgotten, timed out)
        st = head.get("st", 0)
        if st:
            self._done[rid] = errors.from_status(st, head.get("msg", ""), wire.op_name(op))
        else:
            self._done[rid] = Reply(head, [f.buffer for f in frames[2:]])
