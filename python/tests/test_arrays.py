"""put_arrays / get_arrays: numpy arrays and dicts of them round-trip, and
on the node's machine they come back as views of the node's shared memory,
read-only, with no copy."""

from __future__ import annotations

import os

import numpy as np
import pytest

import emerge
from emerge import arrays

MIB = 1 << 20


def sample():
    rng = np.random.default_rng(7)
    return {
        "policy": {
            "w1": rng.standard_normal((256, 1024), dtype=np.float32),  # 1 MiB: spans blocks
            "b1": np.zeros(1024, dtype=np.float32),
            "w2": np.asfortranarray(rng.standard_normal((64, 33))),     # Fortran order
        },
        "obs": rng.integers(0, 255, size=(7, 84, 84), dtype=np.uint8),
        "done": np.array([True, False, True]),
        "strided": np.arange(100, dtype=np.int64)[::3],                 # not contiguous: copied once
        "scalar": np.float64(2.5),
        "empty": np.zeros((0, 5), dtype=np.int16),
        "big_endian": np.arange(5, dtype=">i4"),
        "when": np.array(["2024-01-01"], dtype="datetime64[ns]"),
        "names": np.array(["actor", "learner"]),
        "step": 1200,
        "note": "hello",
        "history": [np.ones(3), (np.arange(2), None, b"raw")],
    }


def assert_same(got, want, path="/"):
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), path
        for k in want:
            assert_same(got[k], want[k], f"{path}{k}/")
    elif isinstance(want, (list, tuple)):
        assert type(got) is type(want) and len(got) == len(want), path
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same(g, w, f"{path}{i}/")
    elif isinstance(want, (np.ndarray, np.generic)):
        w = np.asarray(want)
        assert isinstance(got, np.ndarray) and got.dtype == w.dtype and got.shape == w.shape, path
        assert np.array_equal(got, w), path
    else:
        assert got == want, path


def mapped_path(a: np.ndarray):
    addr = a.__array_interface__["data"][0]
    with open("/proc/self/maps") as f:
        for line in f:
            fields = line.split()
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            if lo <= addr < hi:
                return fields[5] if len(fields) > 5 else ""
    return None


@pytest.mark.parametrize("path", ["shm", "stream"])
def test_round_trip(client, remote, path):
    c = client if path == "shm" else remote
    want = sample()
    ref = c.put_arrays(want)
    got = c.get_arrays(ref)
    assert_same(got, want)
    assert not got["obs"].flags.writeable
    assert got["policy"]["w2"].flags.f_contiguous
    assert c.stat(ref).content_type == arrays.CONTENT_TYPE
    copy = c.get_arrays(ref, copy=True)
    assert_same(copy, want)
    copy["obs"][0, 0, 0] = 1  # writable, and its own memory
    assert not np.shares_memory(copy["obs"], got["obs"])


def test_single_array(client):
    a = np.arange(3 * MIB // 8, dtype=np.float64).reshape(3, -1)
    got = client.get_arrays(client.put_arrays(a))
    assert isinstance(got, np.ndarray) and np.array_equal(got, a)


def test_local_arrays_are_shm_views(client, node):
    want = {"w": np.arange(2 * MIB, dtype=np.float32), "b": np.ones(10, dtype=np.int8)}
    ref = client.put_arrays(want)
    got = client.get_arrays(ref)
    hot = os.path.join(client.info()["shm"]["dir"], ref)
    for k, a in got.items():
        assert mapped_path(a) == hot, f"{k} is not a view of the hot copy"
        assert not a.flags.writeable and not a.flags.owndata
        assert a.__array_interface__["data"][0] % arrays.ALIGN == 0, f"{k} is not aligned"
    # Two gets map the same pages: the node's memory, not a copy per reader.
    again = client.get_arrays(ref)
    assert np.array_equal(again["w"], got["w"])
    assert mapped_path(again["w"]) == hot


def test_streamed_arrays_are_one_buffer(remote):
    got = remote.get_arrays(remote.put_arrays({"a": np.arange(10), "b": np.arange(5.0)}))
    # Both arrays view the one buffer the object was streamed into.
    def root(a):
        while isinstance(a, np.ndarray):
            a = a.base
        return a.obj if isinstance(a, memoryview) else a
    assert not got["a"].flags.owndata
    assert isinstance(root(got["a"]), bytearray) and root(got["a"]) is root(got["b"])


def test_refused_values(remote):
    with pytest.raises(TypeError):
        remote.put_arrays({"x": np.array([object()])})
    with pytest.raises(TypeError):
        remote.put_arrays({1: np.zeros(1)})
    with pytest.raises(TypeError):
        remote.put_arrays({"x": {1, 2}})
    with pytest.raises(TypeError):
        remote.put_arrays(np.zeros(2, dtype=[("a", "i4"), ("b", "f4")]))


def test_not_an_arrays_object(remote):
    ref = remote.put(b"plain bytes, no magic")
    with pytest.raises(emerge.Corrupt):
        remote.get_arrays(ref)


def test_hostile_headers():
    good = b"".join(bytes(s) for s in arrays.encode({"a": np.arange(4)}))
    arrays.decode(memoryview(good), True)
    bad = [
        good[:10],
        b"X" + good[1:],
        good[:8] + (1 << 40).to_bytes(8, "little") + good[16:],  # header past the end
        good[:-40],                                                 # array past the end (32 bytes + 32 of padding)
    ]
    for b in bad:
        with pytest.raises(emerge.Corrupt):
            arrays.decode(memoryview(b), True)
    # An object dtype smuggled into a header is refused: reading runs no code.
    import msgpack
    head = msgpack.packb({"v": 1, "data": 128, "tree": {"a": ["|O", [1], "C", 0, 8]}})
    evil = arrays.MAGIC + len(head).to_bytes(8, "little") + head
    evil += bytes(128 - len(evil)) + bytes(8)
    with pytest.raises(emerge.Corrupt):
        arrays.decode(memoryview(evil), True)
