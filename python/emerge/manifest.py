"""The manifest record a get_object reply carries first (docs/protocol.md,
"The manifest record"): msgpack [identity, replicas, created ns], where
identity is the msgpack [1, size, block size, block ids, content type,
meta] whose BLAKE3 is the ref."""

from __future__ import annotations

from dataclasses import dataclass, field

import msgpack

from . import blake3, errors, wire

MAX_BLOCKS = 1 << 21
_MAX_IDENTITY = MAX_BLOCKS * wire.ID_SIZE + (1 << 20)


@dataclass
class Manifest:
    size: int
    block_size: int
    block_ids: bytes  # 32 bytes per block, concatenated
    content_type: str = ""
    meta: dict = field(default_factory=dict)
    replicas: int = 0
    created: int = 0  # unix ns

    @property
    def blocks(self) -> int:
        return len(self.block_ids) // wire.ID_SIZE

    def block_id(self, i: int) -> bytes:
        return self.block_ids[i * wire.ID_SIZE:(i + 1) * wire.ID_SIZE]

    def block_len(self, i: int) -> int:
        if i < self.blocks - 1:
            return self.block_size
        return self.size - self.block_size * (self.blocks - 1)


def _bad(ref: bytes, why: str) -> errors.Corrupt:
    return errors.Corrupt(f"manifest of {ref.hex()[:12]}: {why}")


def decode(record, ref: bytes, check_ref: bool) -> Manifest:
    """Decodes a record, checking its shape and caps, and with check_ref
    that its identity hashes to ref (Corrupt otherwise)."""
    record = bytes(record)
    try:
        identity, replicas, created = msgpack.unpackb(record, raw=False, max_bin_len=_MAX_IDENTITY,
                                                      max_array_len=3, max_map_len=0, max_str_len=0)
        version, size, bs, ids, ct, meta = msgpack.unpackb(
            identity, raw=False, max_bin_len=MAX_BLOCKS * wire.ID_SIZE, max_array_len=6, max_map_len=64,
            max_str_len=4096)
    except (ValueError, TypeError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as e:
        raise _bad(ref, f"malformed: {e}") from None
    if ids is None:  # an empty block list may come as nil
        ids = b""
    if check_ref and blake3.digest(identity) != ref:
        raise _bad(ref, "does not hash to the ref asked for")
    if version != 1 or not isinstance(ids, bytes) or len(ids) % wire.ID_SIZE:
        raise _bad(ref, f"version {version} or block list unreadable")
    if not (wire.MIN_BLOCK_SIZE <= bs <= wire.MAX_BLOCK_SIZE) or size < 0:
        raise _bad(ref, f"size {size}, block size {bs}")
    m = Manifest(size=size, block_size=bs, block_ids=ids, content_type=ct or "", meta=meta or {},
                 replicas=replicas, created=created)
    want = (size + bs - 1) // bs
    if m.blocks != want:
        raise _bad(ref, f"{m.blocks} blocks for {size} bytes at block size {bs}")
    return m


def verify_block(m: Manifest, i: int, data, hash_it: bool) -> None:
    """Checks block i's length, and with hash_it its BLAKE3 (Corrupt)."""
    if len(data) != m.block_len(i):
        raise errors.Corrupt(f"block {i} has {len(data)} bytes, want {m.block_len(i)}")
    if hash_it and blake3.digest(data) != m.block_id(i):
        raise errors.Corrupt(f"block {i} ({m.block_id(i).hex()[:12]}) does not match its id")
