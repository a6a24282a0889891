"""Views of the node's shared memory: their memory is the node's hot-copy
file (checked in /proc/self/maps), they hold the lock that keeps the node
from recycling it, they survive eviction unchanged, and off the node's
machine (or with shared memory off) they fall back to a stream."""

from __future__ import annotations

import fcntl
import os

import numpy as np
import pytest

import emerge
from emerge import shm

MIB = 1 << 20


def data(n: int, seed: int = 1) -> bytes:
    return np.random.default_rng(seed).bytes(n)


def mapping_of(addr: int):
    """The /proc/self/maps line (fields) of the mapping holding addr."""
    with open("/proc/self/maps") as f:
        for line in f:
            fields = line.split()
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            if lo <= addr < hi:
                return fields
    return None


def address(buf) -> int:
    return np.frombuffer(buf, dtype=np.uint8).__array_interface__["data"][0]


def hot_path(c, ref: str) -> str:
    return os.path.join(c.info()["shm"]["dir"], ref)


def exclusive_lock_free(path: str) -> bool:
    """Whether the node could take its exclusive lock (recycle the file)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def test_view_memory_is_the_shm_file(client, node):
    want = data(3 * MIB + 5, seed=21)
    ref = client.put(want)
    path = hot_path(client, ref)
    assert path.startswith(node.shm_dir)
    with client.get_view(ref) as v:
        assert emerge.is_mapped(v) and v.readonly and v == want
        m = mapping_of(address(v))
        assert m is not None, "view address in no mapping"
        perms, inode, mapped_path = m[1], int(m[4]), m[5]
        assert mapped_path == path and inode == os.stat(path).st_ino
        assert perms == "r--s", "a view is a shared, read-only mapping"
        a = np.frombuffer(v, dtype=np.uint8)  # numpy reads it in place
        assert not a.flags.writeable and a.__array_interface__["data"][0] == address(v)
        with pytest.raises(TypeError):
            v[0] = 1
        del a
    with pytest.raises(ValueError):
        len(v)  # released at the end of the with


def test_view_holds_the_lock(client):
    want = data(2 * MIB, seed=22)
    ref = client.put(want)
    path = hot_path(client, ref)
    v = client.get_view(ref)
    assert not exclusive_lock_free(path), "a view must hold its shared lock"
    arr = np.frombuffer(v, dtype=np.uint8)
    v.release()  # numpy keeps a reference, not an export: the mapping must outlive release()
    assert not exclusive_lock_free(path)
    assert arr.tobytes() == want
    del arr
    assert not exclusive_lock_free(path), "the view object is still alive"
    del v
    assert exclusive_lock_free(path), "once the view is garbage its lock must be gone"
    with client.get_view(ref) as v:
        pass
    del v
    assert exclusive_lock_free(path)


def test_view_survives_eviction(nodes):
    n = nodes.start("--replicas", "1", "--shm-bytes", "8MiB")
    with emerge.Client(n.rpc) as c:
        first = data(3 * MIB, seed=23)
        ref = c.put(first)
        v = c.get_view(ref)
        assert emerge.is_mapped(v)
        path = hot_path(c, ref)
        # Fill the tier with other objects until the first one is evicted.
        for i in range(4):
            other = c.put(data(3 * MIB, seed=100 + i))
            c.get_view(other).release()
        assert not os.path.exists(path), "the first object should have been evicted"
        assert c.info()["shm"]["evict"] > 0
        assert v == first, "an evicted view must keep its bytes"
        v.release()
        # A get maps a fresh hot copy.
        with c.get_view(ref) as again:
            assert again == first


def test_stale_file_is_refused(client):
    ref = client.put(data(2 * MIB, seed=24))
    path = hot_path(client, ref)
    size = client.stat(ref).size
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # what the node holds while it recycles
        with pytest.raises(shm.Stale):
            shm.map_hot(path, size)
    finally:
        os.close(fd)
    with pytest.raises(shm.Stale):
        shm.map_hot(path, size + 1)  # not the size the node named
    with pytest.raises(shm.Stale):
        shm.map_hot(path + "-gone", size)


def test_open_local_reads_hot_copy(client):
    want = data(2 * MIB + 3, seed=25)
    ref = client.put(want)
    with client.open(ref) as f:
        assert f.seekable()
        assert f.read(10) == want[:10]
        f.seek(-3, os.SEEK_END)
        assert f.read() == want[-3:]
        f.seek(MIB)
        assert f.read(MIB) == want[MIB:2 * MIB]


def test_other_machine_streams(nodes):
    # The node says it is another machine: nothing may use its files.
    n = nodes.start("--replicas", "1", env={"EMERGE_HOST_ID": "another-machine"})
    want = data(2 * MIB + 1, seed=26)
    with emerge.Client(n.rpc) as c:
        assert not c.local
        res = c.put_result(want)
        assert not res.local
        with c.get_view(res.ref) as v:
            assert not emerge.is_mapped(v) and v.readonly and v == want
        with pytest.raises(emerge.NotLocal):
            c.get_view(res.ref, require_mapped=True)
        with pytest.raises(emerge.NotLocal):
            c.create_upload(10)
        assert c.get(res.ref) == want
        shm_info = c.info()["shm"]
        assert (shm_info["gets"], shm_info["puts"]) == (0, 0), "nothing may go through the node's files"


def test_client_host_id_override(node, monkeypatch):
    monkeypatch.setenv("EMERGE_HOST_ID", "elsewhere")
    with emerge.Client(node.rpc) as c:
        assert not c.local


def test_shm_off_node_streams(nodes):
    n = nodes.start("--replicas", "1", "--shm-off")
    want = data(2 * MIB + 1, seed=27)
    with emerge.Client(n.rpc) as c:
        assert c.local  # same machine: the first shared-memory call finds it off
        res = c.put_result(want)
        assert not res.local and not c.local
        with c.get_view(res.ref) as v:
            assert not emerge.is_mapped(v) and v == want


def test_object_over_shm_capacity_streams(nodes):
    n = nodes.start("--replicas", "1", "--shm-bytes", "2MiB")
    want = data(3 * MIB, seed=28)
    with emerge.Client(n.rpc) as c:
        res = c.put_result(want)
        assert not res.local
        with c.get_view(res.ref) as v:
            assert not emerge.is_mapped(v) and v == want
        assert c.local  # still local: smaller objects keep using shared memory
        small = data(MIB + 1, seed=29)
        r2 = c.put_result(small)
        assert r2.local
        with c.get_view(r2.ref) as v:
            assert emerge.is_mapped(v) and v == small


def test_create_upload(client):
    want = data(MIB + 100, seed=30)
    with client.create_upload(len(want)) as up:
        up.memory[:] = want
        res = up.seal(meta={"k": "v"})
    assert res.local and res.size == len(want)
    assert client.put(want, meta={"k": "v"}) == res.ref
    with client.get_view(res.ref) as v:
        assert v == want
    # Numpy straight into the upload; an abort leaves nothing.
    before = client.info()["shm"]["used"]
    up = client.create_upload(8 * MIB)
    arr = np.frombuffer(up.memory, dtype=np.float32)
    arr[:] = 1.5
    with pytest.raises(BufferError):
        up.abort()  # the array still points into the mapping
    del arr
    part = up.memory[:16]
    with pytest.raises(BufferError):
        up.abort()  # so does a slice
    part.release()
    up.abort()
    up.abort()
    assert client.info()["uploads"] == 0
    assert client.info()["shm"]["used"] <= before + 8 * MIB  # kept for reuse at most, never leaked as an upload
