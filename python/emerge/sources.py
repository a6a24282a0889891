"""What a put reads from: the inputs put accepts, as sources of blocks.

A source knows its size when it can (bytes-like objects, regular files),
yields the object's blocks in order for a streamed put, and fills an
upload file for a put through shared memory.
"""

from __future__ import annotations

import io
import os
import stat

from . import errors, shm


class Segments:
    """Bytes-like objects read as one object, without copying them: a
    block inside one segment is a slice of it; only a block that spans two
    is assembled (put_arrays' header and padding are segments too)."""

    def __init__(self, parts):
        self.parts = [byte_view(p) for p in parts]
        self.size = sum(len(p) for p in self.parts)
        self._i = 0    # current part
        self._off = 0  # offset in it

    def blocks(self, bs: int):
        """Yields (block, release) in order; release is a no-op here."""
        while True:
            b = self._take(bs)
            if b is None:
                return
            yield b, None

    def _take(self, n: int):
        while self._i < len(self.parts) and self._off == len(self.parts[self._i]):
            self._i, self._off = self._i + 1, 0
        if self._i == len(self.parts):
            return None
        p = self.parts[self._i]
        if len(p) - self._off >= n:
            self._off += n
            return p[self._off - n:self._off]
        out = bytearray()
        while len(out) < n and self._i < len(self.parts):
            p = self.parts[self._i]
            k = min(n - len(out), len(p) - self._off)
            out += p[self._off:self._off + k]
            self._off += k
            if self._off == len(p):
                self._i, self._off = self._i + 1, 0
        return memoryview(out)

    def head(self, n: int):
        """The whole object if it has at most n bytes (for a one-message
        put), else None."""
        if self.size > n:
            return None
        if len(self.parts) == 1:
            return self.parts[0]
        return memoryview(b"".join(self.parts))

    def fill(self, fd: int) -> None:
        off = 0
        for p in self.parts:
            off = shm.pwrite_all(fd, p, off)


class FileSource:
    """A binary file object (or a path the put opened). Its size is known
    when it is a regular file; blocks are read into a few reused buffers."""

    def __init__(self, f, owned: bool):
        self.f = f
        self.owned = owned
        self.size = None
        self._fd = None
        try:
            fd = f.fileno()
            st = os.fstat(fd)
            if stat.S_ISREG(st.st_mode):
                pos = f.tell()
                if 0 <= pos <= st.st_size:
                    self.size, self._fd, self._pos = st.st_size - pos, fd, pos
        except (AttributeError, OSError, io.UnsupportedOperation):
            pass
        self._free = []  # buffers whose block the node acknowledged
        self._prefix = None

    def close(self):
        if self.owned:
            self.f.close()

    def _read_full(self, buf) -> int:
        """Fills buf from what head() read ahead, then from the file; fewer
        bytes only at the end of the input."""
        mv = memoryview(buf)
        got = 0
        if self._prefix is not None and len(self._prefix):
            got = min(len(mv), len(self._prefix))
            mv[:got] = self._prefix[:got]
            self._prefix = self._prefix[got:]
        readinto = getattr(self.f, "readinto", None)
        while got < len(mv):
            try:
                if readinto is not None:
                    n = readinto(mv[got:])
                else:
                    chunk = self.f.read(len(mv) - got)
                    n = len(chunk) if chunk else 0
                    mv[got:got + n] = chunk or b""
            except OSError as e:
                raise errors.BadRequest(f"put: read input: {e}") from None
            if not n:
                break
            got += n
        return got

    def head(self, n: int):
        """Reads up to n+1 bytes: the whole object (a memoryview) if it has
        at most n, else None, and blocks() starts with what was read."""
        buf = bytearray(n + 1)
        got = self._read_full(buf)
        if got <= n:
            return memoryview(buf)[:got]
        self._prefix = memoryview(buf)
        return None

    def blocks(self, bs: int):
        """Yields (block, release): call release once the node has the
        block, and its buffer is reused."""
        while True:
            buf = self._free.pop() if self._free else bytearray(bs)
            got = self._read_full(buf)
            if got == 0:
                return
            yield memoryview(buf)[:got], self._releaser(buf)
            if got < bs:
                return

    def _releaser(self, buf):
        return lambda: self._free.append(buf)

    def fill(self, fd: int) -> None:
        """Copies the rest of the file into the upload (sendfile), moving
        the file's position past it as a read would."""
        n = shm.copy_file(fd, self._fd, self._pos, self.size)
        if n != self.size:
            raise errors.BadRequest(f"input ended at {n} of {self.size} bytes (file shrank?)")
        self.f.seek(self._pos + n)


def byte_view(p) -> memoryview:
    """p's bytes as a flat memoryview, no copy (TypeError when p is not
    bytes-like, BufferError when it is not contiguous)."""
    mv = memoryview(p)
    if mv.ndim == 1 and mv.format == "B":
        return mv
    if not mv.c_contiguous:
        raise BufferError("put needs contiguous memory: pass numpy.ascontiguousarray(x)")
    return mv.cast("B")


def open_source(data):
    """The source for put's data: bytes-like, a path (str or PathLike) or
    a binary file object (or Segments, already one)."""
    if isinstance(data, Segments):
        return data
    if isinstance(data, (str, os.PathLike)):
        try:
            f = open(data, "rb")
        except OSError as e:
            raise errors.BadRequest(f"put: cannot read {os.fspath(data)!r}: {e.strerror}") from None
        return FileSource(f, owned=True)
    if isinstance(data, io.TextIOBase):
        raise TypeError("put reads files in binary mode: open(path, 'rb')")
    if hasattr(data, "read"):
        return FileSource(data, owned=False)
    try:
        return Segments([data])
    except TypeError:
        raise TypeError(f"put takes bytes-like data, a path or a binary file, not {type(data).__name__}") from None
