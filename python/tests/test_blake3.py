"""The Python BLAKE3 against ids the Go node computed: block ids of
objects cut into blocks of every interesting length, and refs (the hash of
the manifest identity). Both the scalar and the numpy path."""

from __future__ import annotations

import struct

import msgpack
import numpy as np
import pytest

from emerge import blake3, blake3_np, getting, manifest, wire

KIB = 1 << 10
# Lengths around BLAKE3's 64-byte blocks and 1 KiB chunks, tree shapes of
# 1 to 17 chunks, and the numpy path's threshold (16 KiB).
TAILS = [1, 63, 64, 65, 1023, 1024, 1025, 2047, 2048, 2049, 3 * KIB + 1, 4 * KIB, 5 * KIB + 7,
         8 * KIB, 9 * KIB, 15 * KIB + 1023, 16 * KIB, 16 * KIB + 1, 17 * KIB, 33 * KIB - 1]


def scalar(b) -> bytes:
    return struct.pack("<8I", *blake3._scalar(b))


def test_known_vectors():
    assert blake3.hexdigest(b"") == "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
    assert blake3.hexdigest(b"abc") == "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"


def go_blocks(c, ref: str):
    """The manifest the node sends and the object's blocks, unverified."""
    r = getting.StreamReader(c, bytes.fromhex(ref))
    with r:
        return r.manifest, [bytes(b) for b in r.blocks()]


def test_block_ids_match_go(remote):
    rng = np.random.default_rng(50)
    bs = 64 * KIB
    for tail in TAILS:
        obj = rng.bytes(bs + tail)  # a full 64 KiB block, then one of tail bytes
        ref = remote.put(obj, block_size=bs)
        man, blocks = go_blocks(remote, ref)
        assert [len(b) for b in blocks] == [bs, tail]
        for i, b in enumerate(blocks):
            assert scalar(b) == man.block_id(i), f"scalar, block of {len(b)} bytes"
            assert blake3_np.digest(b) == man.block_id(i), f"numpy, block of {len(b)} bytes"
            assert blake3.digest(b) == man.block_id(i)


@pytest.mark.parametrize("bs", [1 << 20, 4 << 20])
def test_large_blocks_and_refs_match_go(remote, bs):
    obj = np.random.default_rng(bs).bytes(bs + 12345)
    ref = remote.put(obj, block_size=bs, meta={"k": "v"}, content_type="x/y")
    man, blocks = go_blocks(remote, ref)
    for i, b in enumerate(blocks):
        assert blake3.digest(b) == man.block_id(i)
    # The ref is the hash of the identity encoding the record carries.
    rec = remote._conn.call(wire.GET_OBJECT, {"ref": bytes.fromhex(ref), "man": True, "count": 1}).data[0]
    identity = msgpack.unpackb(bytes(rec), raw=False)[0]
    assert blake3.hexdigest(identity) == ref
    assert scalar(identity) == bytes.fromhex(ref)
    manifest.decode(rec, bytes.fromhex(ref), check_ref=True)


def test_paths_agree():
    rng = np.random.default_rng(51)
    for n in [16 * KIB, 16 * KIB + 1, 31 * KIB + 5, 64 * KIB, 100 * KIB + 3]:
        b = rng.bytes(n)
        assert blake3_np.digest(b) == scalar(b), n
