"""Gets: the node's hot copy in shared memory when the node is local (read,
mapped or opened as a file), otherwise blocks streamed over the socket
with a bounded window of requests in flight."""

from __future__ import annotations

import collections
import io
import os

from . import errors, manifest, shm, wire

# How often a local get asks again when the file the node named was
# evicted or recycled before this process could lock it.
_STALE_RETRIES = 3


def _hot(c, ref: bytes, action):
    """action(path, size) on ref's hot copy, or None to stream instead: the
    node is not local, the object is over its shared memory, the node is
    still fetching it, or the copy kept going stale. NotFound and Deleted
    are raised."""
    if not c.local:
        return None
    for _ in range(_STALE_RETRIES):
        try:
            r = c._conn.call(wire.SHM_GET, {"ref": ref})
        except (errors.TooLarge, errors.NoSpace):
            return None
        except errors.Unsupported:
            c._shm_off()
            return None
        if r.get("stream"):
            return None  # the node is fetching the object: stream it, with progress
        try:
            return action(r["path"], r["size"])
        except shm.Stale:
            continue
        except PermissionError:
            c._shm_off()
            return None
    return None


def get_bytes(c, ref: bytes) -> bytes:
    b = _hot(c, ref, shm.read_hot)
    if b is not None:
        return b
    with StreamReader(c, ref) as r:
        return b"".join(r.blocks())


def _stream_into_new(c, ref: bytes) -> bytearray:
    with StreamReader(c, ref) as r:
        buf = bytearray(r.size)
        r.read_all_into(memoryview(buf))
    return buf


def get_view(c, ref: bytes, require_mapped: bool) -> memoryview:
    v = _hot(c, ref, shm.map_hot)
    if v is not None:
        return v
    if require_mapped:
        raise errors.NotLocal(f"object {ref.hex()[:12]} cannot be mapped from node {c.node.id}: not on this "
                              "machine, shared memory off, or the object is over its capacity")
    return memoryview(_stream_into_new(c, ref)).toreadonly()


def _read_new(path: str, size: int) -> bytearray:
    buf = bytearray(size)
    shm.read_hot_into(path, size, memoryview(buf))
    return buf


def get_arrays(c, ref: bytes, copy: bool, arrays_mod):
    if copy:
        buf = _hot(c, ref, _read_new)
        if buf is None:
            buf = _stream_into_new(c, ref)
        return arrays_mod.decode(memoryview(buf), readonly=False)
    v = _hot(c, ref, shm.map_hot)
    if v is None:
        v = memoryview(_stream_into_new(c, ref))
    return arrays_mod.decode(v, readonly=True)


def open_reader(c, ref: bytes):
    r = _hot(c, ref, HotReader)
    if r is not None:
        return r
    return StreamReader(c, ref)


class StreamReader(io.RawIOBase):
    """An object streamed block by block: the first reply brings the
    manifest (checked against the ref) and the first blocks, then window
    get_object requests are kept in flight ahead of the reader. Blocks are
    checked as the client's verify says."""

    def __init__(self, c, ref: bytes):
        super().__init__()
        self._c = c
        self._ref = ref
        self._hash = c.verify is True
        r = c._conn.call(wire.GET_OBJECT, {"ref": ref, "man": True})
        count = r.get("count", 0)
        if not r.get("man") or len(r.data) < 1 + count or r.get("first", 0) != 0:
            raise errors.Corrupt(f"get {ref.hex()[:12]}: reply without manifest or with a wrong range")
        self.manifest = manifest.decode(r.data[0], ref, c.verify is not False)
        if count > self.manifest.blocks:
            raise errors.Corrupt(f"get {ref.hex()[:12]}: {count} blocks of an object with {self.manifest.blocks}")
        self.size = self.manifest.size
        self._ready = collections.deque(r.data[1:1 + count])
        self._next = 0            # index of the next block to yield
        self._asked = count       # index of the next block to request
        self._pending = collections.deque()  # request ids, in block order
        self._cur = memoryview(b"")
        self._pos = 0
        self._fill()

    def _fill(self) -> None:
        m = self.manifest
        while len(self._pending) < self._c.window and self._asked < m.blocks:
            rid = self._c._conn.send(wire.GET_OBJECT, {"ref": self._ref, "first": self._asked, "count": 1})
            self._pending.append(rid)
            self._asked += 1

    def _next_block(self):
        """The next block, checked; None after the last."""
        if self.closed:
            raise ValueError("read from a closed reader")
        i = self._next
        if i >= self.manifest.blocks:
            return None
        if self._ready:
            b = self._ready.popleft()
        else:
            rid = self._pending.popleft()
            r = self._c._conn.wait(rid)
            if len(r.data) != 1 or r.get("first") != i:
                raise errors.Corrupt(f"get {self._ref.hex()[:12]} block {i}: reply of {len(r.data)} frames "
                                     f"from block {r.get('first')}")
            b = r.data[0]
        manifest.verify_block(self.manifest, i, b, self._hash)
        self._next += 1
        self._fill()
        return b

    def blocks(self):
        """Yields the rest of the object block by block (memoryviews of the
        received frames, no copy)."""
        if len(self._cur):
            b, self._cur = self._cur, memoryview(b"")
            self._pos += len(b)
            yield b
        while True:
            b = self._next_block()
            if b is None:
                return
            self._pos += len(b)
            yield b

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        out = memoryview(buf).cast("B")
        while not len(self._cur):
            b = self._next_block()
            if b is None:
                return 0
            self._cur = b
        n = min(len(out), len(self._cur))
        out[:n] = self._cur[:n]
        self._cur = self._cur[n:]
        self._pos += n
        return n

    def readall(self) -> bytes:
        return b"".join(self.blocks())

    def read_all_into(self, out: memoryview) -> None:
        """Copies the rest of the object into out (which must fit it)."""
        off = 0
        for b in self.blocks():
            out[off:off + len(b)] = b
            off += len(b)

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        pending = getattr(self, "_pending", None)  # None when __init__ failed
        if not self.closed and pending:
            self._c._conn.forget(list(pending))
            pending.clear()
        self._ready = collections.deque()
        self._cur = memoryview(b"")
        super().close()


class HotReader(io.RawIOBase):
    """An object read from the node's hot copy with pread, under the copy's
    shared lock (held until close)."""

    def __init__(self, path: str, size: int):
        super().__init__()
        self.size = size
        self._fd = shm.open_hot(path, size) if size else None
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        if self.closed:
            raise ValueError("read from a closed reader")
        out = memoryview(buf).cast("B")
        n = min(len(out), self.size - self._pos)
        if n <= 0:
            return 0
        n = os.preadv(self._fd, [out[:n]], self._pos)
        self._pos += n
        return n

    def readall(self) -> bytes:
        if self._pos >= self.size:
            return b""
        parts = []
        while self._pos < self.size:
            b = os.pread(self._fd, min(self.size - self._pos, 1 << 30), self._pos)
            if not b:
                break
            parts.append(b)
            self._pos += len(b)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def blocks(self, chunk: int = 4 << 20):
        while self._pos < self.size:
            b = os.pread(self._fd, min(chunk, self.size - self._pos), self._pos)
            if not b:
                return
            self._pos += len(b)
            yield memoryview(b)

    def read_all_into(self, out: memoryview) -> None:
        off = 0
        while self._pos < self.size:
            n = self.readinto(out[off:])
            if n == 0:
                return
            off += n

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        fd = getattr(self, "_fd", None)  # absent when __init__ failed
        if fd is not None:
            os.close(fd)
            self._fd = None
        super().close()
