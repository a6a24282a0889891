"""The node's shared memory, from the client's side: hot copies to read
and upload files to fill. The locking protocol is the node's (see the
node's blocks/shm package documentation):

* A reader opens the hot copy the node named, takes flock(LOCK_SH|LOCK_NB)
  and then checks that the file it holds is still the one at the path
  (same device and inode) with the size the node said. The node recycles
  a file only after taking flock(LOCK_EX|LOCK_NB), which fails while any
  reader holds its shared lock, and renames it away before letting go; so
  once both checks pass the bytes cannot change until the reader lets go.
  A failed lock or check is Stale: ask the node again.
* A mapping keeps the lock: it is taken on the open file description,
  which the mapping holds until it is unmapped (CPython's mmap also keeps a
  dup of the descriptor).
* A mapping is never unmapped while anything may point into it. numpy
  arrays made with frombuffer keep a reference to the memoryview they were
  made from, not a buffer export, so memoryview.release() alone would let
  the mapping go under them. A view's mapping is therefore tied to the
  memoryview object's lifetime (a finalizer holds it), not to release():
  it is unmapped, and its lock released, once the view and everything
  made from it are garbage.
* A writer opens an upload read-write, takes the same shared lock, checks
  the file is still at its path, fills it with pwrite, and closes it before
  asking the node to seal: the node refuses to seal a file a client holds.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import weakref


# Fault the pages in at map time: faster in every case the node's
# measurements tried (Python 3.10+ names the flag).
_POPULATE = getattr(mmap, "MAP_POPULATE", 0)


class Stale(Exception):
    """The file is no longer the one the node named (evicted, recycled or
    replaced): ask the node again, or stream."""


class Busy(Exception):
    """The upload is being sealed or dropped."""


def _lock_shared(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _same_file(fd: int, path: str):
    """fd's stat if fd is the file now at path, else None."""
    fst = os.fstat(fd)
    try:
        pst = os.stat(path)
    except FileNotFoundError:
        return None
    if (fst.st_dev, fst.st_ino) != (pst.st_dev, pst.st_ino):
        return None
    return fst


def open_hot(path: str, size: int) -> int:
    """Opens the hot copy at path with its shared lock, checked: the
    descriptor. Stale when it is not the copy the node named any more;
    PermissionError when this process may not open it (another user)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise Stale(f"{path} is gone") from None
    try:
        if not _lock_shared(fd):
            raise Stale(f"{path} is being recycled")
        st = _same_file(fd, path)
        if st is None:
            raise Stale(f"{path} was replaced")
        if st.st_size != size:
            raise Stale(f"{path} is {st.st_size} bytes, not {size}")
        return fd
    except BaseException:
        os.close(fd)
        raise


def map_hot(path: str, size: int) -> memoryview:
    """A read-only memoryview of the hot copy at path: the file's pages,
    no copy, under its shared lock until the view (and everything made
    from it) is released."""
    if size == 0:
        return memoryview(b"")
    fd = open_hot(path, size)
    try:
        m = mmap.mmap(fd, size, flags=mmap.MAP_SHARED | _POPULATE, prot=mmap.PROT_READ)
    finally:
        os.close(fd)  # the mapping keeps the file, and so the lock
    v = memoryview(m)
    weakref.finalize(v, _drop, m)  # m lives as long as v, released or not
    return v


def _drop(m) -> None:
    """Lets go of a mapping (unmapped when nothing else holds it)."""


def read_hot(path: str, size: int) -> bytes:
    """The hot copy at path, read into a new bytes under its lock: one
    copy, no page-table work (cheaper than a mapping read once)."""
    if size == 0:
        return b""
    fd = open_hot(path, size)
    try:
        parts, off = [], 0
        while off < size:
            b = os.pread(fd, min(size - off, 1 << 30), off)
            if not b:
                raise Stale(f"{path} ended at {off} of {size} bytes")
            parts.append(b)
            off += len(b)
        return parts[0] if len(parts) == 1 else b"".join(parts)
    finally:
        os.close(fd)


def read_hot_into(path: str, size: int, dst: memoryview) -> None:
    """Copies the hot copy at path into dst[:size] under its lock."""
    if size == 0:
        return
    fd = open_hot(path, size)
    try:
        off = 0
        while off < size:
            n = os.preadv(fd, [dst[off:size]], off)
            if n <= 0:
                raise Stale(f"{path} ended at {off} of {size} bytes")
            off += n
    finally:
        os.close(fd)


def open_upload(path: str, size: int) -> int:
    """Opens the upload at path for writing with its shared lock: the
    descriptor. Busy while the node seals or drops it; FileNotFoundError or
    PermissionError when it cannot be opened."""
    fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    try:
        if not _lock_shared(fd):
            raise Busy(f"upload {path} is being sealed or dropped")
        st = _same_file(fd, path)
        if st is None:
            raise Busy(f"upload {path} was dropped")
        if st.st_size != size:
            raise Busy(f"upload {path} is {st.st_size} bytes, not {size}")
        return fd
    except BaseException:
        os.close(fd)
        raise


def pwrite_all(fd: int, buf, offset: int) -> int:
    """Writes all of buf at offset; returns the offset after it."""
    mv = memoryview(buf).cast("B")
    while len(mv):
        n = os.pwrite(fd, mv, offset)
        mv = mv[n:]
        offset += n
    return offset


def copy_file(dst: int, src: int, src_off: int, count: int) -> int:
    """Copies count bytes of src from src_off into dst (opened at offset 0)
    in the kernel with sendfile, or with pread and pwrite where sendfile
    does not work; returns the bytes copied (short: src ended)."""
    done = 0
    try:
        while done < count:
            n = os.sendfile(dst, src, src_off + done, count - done)
            if n == 0:
                return done
            done += n
        return done
    except OSError:
        pass
    while done < count:
        b = os.pread(src, min(count - done, 4 << 20), src_off + done)
        if not b:
            break
        pwrite_all(dst, b, done)
        done += len(b)
    return done


def map_upload(fd: int, size: int) -> mmap.mmap:
    """A writable mapping of an upload opened with open_upload."""
    return mmap.mmap(fd, size, flags=mmap.MAP_SHARED | _POPULATE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
