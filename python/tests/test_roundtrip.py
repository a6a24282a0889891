"""Round trips against a real node: the sizes around a block, every input
kind put takes, both paths (the node's shared memory from this machine,
and streaming), and a 300 MiB object streamed with a bounded window."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest

import emerge

MIB = 1 << 20
BS = MIB  # the node's default block size

SIZES = {"0B": 0, "1B": 1, "one block": BS, "one block + 1": BS + 1, "3 blocks + 7": 3 * BS + 7}


def data(n: int, seed: int = 1) -> bytes:
    return np.random.default_rng(seed).bytes(n)


def check_read_back(c, ref: str, want: bytes) -> None:
    assert c.get(ref) == want
    with c.get_view(ref) as v:
        assert v.readonly and v == want
    with c.open(ref) as f:
        assert f.read() == want
    with c.open(ref) as f:
        assert b"".join(bytes(b) for b in f.blocks()) == want


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
@pytest.mark.parametrize("path", ["shm", "stream"])
def test_round_trip_sizes(client, remote, size, path):
    c = client if path == "shm" else remote
    want = data(size, seed=size)
    res = c.put_result(want)
    assert res.size == size and res.blocks == (size + BS - 1) // BS
    assert res.local == (path == "shm" and size > BS)  # one block or less always goes in one message
    check_read_back(c, res.ref, want)
    info = c.stat(res.ref)
    assert (info.size, info.blocks, info.block_size) == (size, res.blocks, BS)
    # The ref names the content, whichever way it travelled.
    other = remote if c is client else client
    assert other.put(want) == res.ref
    check_read_back(other, res.ref, want)


def test_lone_node_put_reports_copies(client, remote):
    # replicas defaults to 2 and min_replicas to 1: alone, a put returns
    # with one copy of two, which is not an error.
    for c in (client, remote):
        for size in (10, 2 * BS + 1):
            res = c.put_result(data(size, 77 + size))
            assert (res.copies, res.replicas, res.under_target) == (1, 2, True)
    assert client.put_result(b"x", replicas=1).under_target is False


@pytest.mark.parametrize("path", ["shm", "stream"])
def test_input_kinds(client, remote, tmp_path, path):
    c = client if path == "shm" else remote
    want = data(2 * BS + 123, seed=5)
    ref = c.put(want)
    p = tmp_path / "in.bin"
    p.write_bytes(want)
    arr = np.frombuffer(want, dtype=np.uint8)
    inputs = {
        "bytearray": bytearray(want),
        "memoryview": memoryview(want),
        "numpy": arr,
        "numpy 2-D": arr[: 2 * BS].reshape(2, BS),
        "str path": str(p),
        "PathLike": p,
        "file": open(p, "rb"),
        "BytesIO (size unknown)": io.BytesIO(want),
        "pipe (size unknown)": _pipe_reader(want),
    }
    for kind, inp in inputs.items():
        got = c.put(inp)
        expect = want[: 2 * BS] if kind == "numpy 2-D" else want
        assert c.get(got) == expect, kind
        if kind != "numpy 2-D":
            assert got == ref, kind
    inputs["file"].close()


def _pipe_reader(b: bytes):
    r, w = os.pipe()
    import threading

    def feed():
        with os.fdopen(w, "wb") as f:
            f.write(b)
    threading.Thread(target=feed, daemon=True).start()
    return os.fdopen(r, "rb")


def test_file_position_respected(client, remote, tmp_path):
    want = data(3 * BS, seed=9)
    p = tmp_path / "in.bin"
    p.write_bytes(want)
    for c in (client, remote):
        with open(p, "rb") as f:
            f.seek(100)
            ref = c.put(f)
            assert f.tell() == len(want)
        assert c.get(ref) == want[100:]


def test_options_meta_content_type(remote):
    ref = remote.put(b"weights", meta={"step": "1200"}, content_type="application/x-test", replicas=1)
    info = remote.stat(ref)
    assert info.meta == {"step": "1200"} and info.content_type == "application/x-test" and info.replicas == 1
    assert ref in {o.ref for o in remote.ls()}
    assert remote.put(b"weights") != ref  # metadata is part of the identity


def test_block_size_option(client, remote):
    want = data(300 << 10, seed=3)
    for c in (client, remote):
        res = c.put_result(want, block_size=64 << 10)
        assert res.blocks == 5 and c.stat(res.ref).block_size == 64 << 10
        assert c.get(res.ref) == want


def test_progress(remote):
    seen = []
    want = data(5 * BS + 1, seed=4)
    remote.put(want, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == len(want)


def test_verify_true_hashes_blocks(node):
    want = data(2 * BS + 5, seed=11)
    with emerge.Client(node.rpc, shm=False, verify=True) as c:
        ref = c.put(want)
        assert c.get(ref) == want
    with emerge.Client(node.rpc, shm=False, verify=False) as c:
        assert c.get(ref) == want


def test_delete(client, remote):
    ref = remote.put(b"to delete")
    assert remote.delete(ref) >= 0
    with pytest.raises(emerge.Deleted):
        remote.get(ref)
    with pytest.raises(emerge.NotFound):  # Deleted is a NotFound
        client.get_view(ref)


def _track_window(c):
    """Wraps c's connection to record the most requests ever in flight."""
    conn = c._conn
    seen = {"max": 0}
    send = conn.send

    def counting(*a, **kw):
        rid = send(*a, **kw)
        seen["max"] = max(seen["max"], len(conn._ops))
        return rid
    conn.send = counting
    return seen


def test_300mib_streamed_window(node):
    size = 300 * MIB
    want = data(size, seed=300)
    with emerge.Client(node.rpc, shm=False, window=4) as c:
        seen = _track_window(c)
        res = c.put_result(want)
        assert res.size == size and res.blocks == 300
        assert seen["max"] <= 4, f"put kept {seen['max']} requests in flight, window 4"
        seen["max"] = 0
        with c.open(res.ref) as f:
            got = bytearray(size)
            mv, off = memoryview(got), 0
            while True:
                n = f.readinto(mv[off:off + 3 * MIB + 17])  # reads that straddle blocks
                if not n:
                    break
                off += n
        assert seen["max"] <= 4, f"get kept {seen['max']} requests in flight, window 4"
        assert off == size and got == want
        del got
        assert c.get(res.ref) == want
    # The same object through shared memory: the ref is the same.
    with emerge.Client(node.rpc) as c:
        assert c.put(want) == res.ref
        with c.get_view(res.ref) as v:
            assert emerge.is_mapped(v) and v == want


def test_shared_between_threads(client, remote):
    import threading
    errors_seen = []

    def worker(c, seed):
        try:
            for i in range(4):
                want = data(BS + 1000 * i + seed, seed=seed * 10 + i)
                ref = c.put(want)
                assert c.get(ref) == want
                with c.open(ref) as f:
                    assert f.read() == want
        except Exception as e:  # reported below, with the thread's seed
            errors_seen.append((seed, repr(e)))
    threads = [threading.Thread(target=worker, args=(c, s)) for s, c in enumerate([client, remote] * 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors_seen
