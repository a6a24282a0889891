"""Puts: one message for an object of at most one block, a streamed upload
with a bounded window of blocks in flight, or, from a local node, an
upload file in its shared memory filled by this process and sealed by the
node."""

from __future__ import annotations

import errno
import os
import sys

from . import errors, shm, sources, wire
from .types import PutResult

# How long the clean-up of a failed put waits for the node.
_ABORT_TIMEOUT = 2.0


def put(c, data, params: dict, progress) -> PutResult:
    src = sources.open_source(data)
    try:
        bs = params["bs"]
        if src.size is not None and src.size > bs and c.local:
            res = _put_shm(c, src, params)
            if res is not None:
                if progress is not None:
                    progress(res.size)
                return res
        head = src.head(min(bs, c.node.max_inline))
        if head is not None:
            r = c._conn.call(wire.PUT_OBJECT, params, [head])
            if progress is not None:
                progress(len(head))
            return _result(r, False)
        return _upload(c, src, params, progress)
    finally:
        if isinstance(src, sources.FileSource):
            src.close()


def _result(r, local: bool) -> PutResult:
    replicas = r.get("rep", 0)
    copies = r.get("cp", 0) if replicas else 0  # a node that predates min_replicas reports neither
    return PutResult(ref=bytes(r["ref"]).hex(), size=r.get("size", 0), blocks=r.get("n", 0), copies=copies,
                     replicas=replicas, local=local)


def _upload(c, src, params: dict, progress) -> PutResult:
    """A streamed put: put_start, put_data with at most window blocks in
    flight, put_commit; put_abort on any failure (or interrupt)."""
    conn = c._conn
    start = conn.call(wire.PUT_START, params)
    up, bs = start["up"], start.get("bs") or params["bs"]
    if bs != params["bs"]:
        _abort(conn, wire.PUT_ABORT, {"up": up})
        raise errors.BadRequest(f"node chose block size {bs}, not the {params['bs']} asked for")
    window = max(1, min(c.window, start.get("win") or c.window))
    inflight = {}  # request id -> (release, bytes)
    seq = size = acked = 0
    try:
        for block, release in src.blocks(bs):
            while len(inflight) >= window:
                acked += _ack(conn, inflight)
                if progress is not None:
                    progress(acked)
            rid = conn.send(wire.PUT_DATA, {"up": up, "seq": seq}, [block])
            inflight[rid] = (release, len(block))
            seq += 1
            size += len(block)
        while inflight:
            acked += _ack(conn, inflight)
            if progress is not None:
                progress(acked)
        r = conn.call(wire.PUT_COMMIT, {"up": up, "n": seq, "size": size})
    except BaseException:
        conn.forget(list(inflight))
        _abort(conn, wire.PUT_ABORT, {"up": up})
        raise
    return _result(r, False)


def _ack(conn, inflight: dict) -> int:
    """Waits for one put_data reply; returns its bytes."""
    rid, _ = conn.wait_any(inflight)
    release, n = inflight.pop(rid)
    if release is not None:
        release()
    return n


def _abort(conn, op: int, fields: dict) -> None:
    """Tells the node to drop an upload; if it cannot be told, its idle
    timeout or sweep drops it."""
    try:
        conn.call(op, fields, timeout=_ABORT_TIMEOUT)
    except errors.EmergeError:
        pass


def _put_shm(c, src, params: dict):
    """Fills an upload file in the node's shared memory from src and has
    the node seal it. None (with nothing read from src) when the object
    should be streamed instead: too large for the node's shared memory,
    none free, none at all, or files this process cannot open."""
    try:
        rep = c._conn.call(wire.SHM_CREATE, {"size": src.size})
    except (errors.TooLarge, errors.NoSpace):
        return None
    except errors.Unsupported:
        c._shm_off()
        return None
    name, path = rep["name"], rep["path"]
    if rep.get("size") != src.size:
        _abort(c._conn, wire.SHM_ABORT, {"name": name})
        raise errors.BadRequest(f"node made an upload of {rep.get('size')} bytes, not {src.size}")
    try:
        fd = shm.open_upload(path, src.size)
    except (PermissionError, FileNotFoundError):
        _abort(c._conn, wire.SHM_ABORT, {"name": name})
        c._shm_off()
        return None
    except shm.Busy as e:
        _abort(c._conn, wire.SHM_ABORT, {"name": name})
        raise errors.Unavailable(f"put: {e}") from None
    except BaseException:
        _abort(c._conn, wire.SHM_ABORT, {"name": name})
        raise
    try:
        try:
            src.fill(fd)
        finally:
            os.close(fd)  # releases the lock: the node will not seal a file a client holds
    except OSError as e:
        _abort(c._conn, wire.SHM_ABORT, {"name": name})
        if e.errno == errno.ENOSPC:
            raise errors.NoSpace(f"put: fill shared memory: {e}") from None
        raise
    except BaseException:
        _abort(c._conn, wire.SHM_ABORT, {"name": name})
        raise
    return _seal(c, name, params)


def _seal(c, name: str, params: dict) -> PutResult:
    try:
        r = c._conn.call(wire.SHM_SEAL, dict(params, name=name))
    except BaseException:
        _abort(c._conn, wire.SHM_ABORT, {"name": name})  # covers a seal that never arrived
        raise
    return _result(r, True)


class Upload:
    """A file in the node's shared memory that becomes an object without its
    bytes crossing a socket: write into memory (a writable memoryview),
    then seal(). abort(), or a seal that fails, leaves nothing behind. As a
    context manager it aborts if not sealed."""

    def __init__(self, c, name: str, path: str, size: int, fd: int):
        self._c = c
        self.name = name
        self.path = path
        self.size = size
        try:
            self._map = shm.map_upload(fd, size) if size else None
        finally:
            os.close(fd)  # the mapping keeps the file and its lock
        self.memory = memoryview(self._map) if self._map is not None else memoryview(bytearray())
        self._done = False

    def _unmap(self) -> None:
        # numpy arrays over memory hold a reference to it, not a buffer
        # export: count the references, or unmapping would leave them
        # pointing at nothing. Slices of memory hold an export: close()
        # refuses then.
        if sys.getrefcount(self.memory) > 2:
            raise BufferError("upload.memory is still referenced (an array or a variable): delete it before "
                              "seal() or abort()")
        self.memory.release()
        if self._map is not None:
            try:
                self._map.close()  # unmapped and closed: the lock is gone
            except BufferError:
                self.memory = memoryview(self._map)
                raise BufferError("a view or array over upload.memory is still alive: delete it before "
                                  "seal() or abort()") from None

    def seal(self, *, replicas=None, min_replicas=None, meta=None, content_type=None, block_size=None,
             prefetch_group=None, prefetch_nodes=None, name=None) -> PutResult:
        """Stores the upload's bytes as an object with put's options and
        returns what was stored. The node hashes and persists the memory,
        makes the replicas asked for, and keeps it as the hot copy."""
        from .client import _check_name, _put_params
        _check_name(name)
        if self._done:
            raise errors.BadRequest("upload already sealed or aborted")
        self._unmap()
        self._done = True
        params = _put_params(replicas, min_replicas, meta, content_type, block_size or self._c.node.block_size)
        res = _seal(self._c, self.name, params)
        if name is not None:
            self._c.bind(name, res.ref)
        self._c._prefetch_after(res.ref, prefetch_group, prefetch_nodes)
        return res

    def abort(self) -> None:
        """Drops the upload. Safe to call twice, and after seal."""
        if self._done:
            return
        self._unmap()
        self._done = True
        _abort(self._c._conn, wire.SHM_ABORT, {"name": self.name})

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.abort()


def create_upload(c, size: int) -> Upload:
    if not c.local:
        raise errors.NotLocal(f"node {c.node.id} at {c.endpoint} is not on this machine "
                              "(or shared memory is off for this client)")
    try:
        rep = c._conn.call(wire.SHM_CREATE, {"size": size})
    except errors.Unsupported as e:
        c._shm_off()
        raise errors.NotLocal(f"node {c.node.id} has shared memory off: {e}") from None
    name, path = rep["name"], rep["path"]
    try:
        fd = shm.open_upload(path, size)
    except (OSError, shm.Busy) as e:
        _abort(c._conn, wire.SHM_ABORT, {"name": name})
        raise errors.NotLocal(f"cannot open the node's upload {path}: {e}") from None
    try:
        return Upload(c, name, path, size, fd)
    except BaseException:
        _abort(c._conn, wire.SHM_ABORT, {"name": name})
        raise
