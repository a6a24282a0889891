"""BLAKE3-256, written for this package from the BLAKE3 specification.

Python's standard library and Debian have no BLAKE3, and emerge names every
block and object by one. This module is what the client uses to check a
manifest against its ref, to verify blocks when asked (``verify=True``) and
to derive the host id exactly as the node does.

Two paths give the same digest:

* a scalar one in plain Python, for short inputs (a host id, a manifest);
* a numpy one that compresses all the 1 KiB chunks of an input side by
  side and then merges the tree a level at a time, for long inputs (blocks).
  It runs at tens of MB/s (docs/python.md, "Verification") against about a
  hundred times that for the Go client's assembly.

Only the default hash mode with a 32-byte output is implemented: no keyed
hashing, no key derivation, no extended output.
"""

from __future__ import annotations

import struct

__all__ = ["blake3", "hexdigest", "digest"]

_IV = (0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
       0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19)
_PERM = (2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8)
_CHUNK_START, _CHUNK_END, _PARENT, _ROOT = 1, 2, 4, 8
_BLOCK = 64
_CHUNK = 1024
_M32 = 0xFFFFFFFF

# Message word order of each of the 7 rounds: round r uses the words of
# round r-1 permuted by _PERM.
_SCHEDULE = []
_order = list(range(16))
for _ in range(7):
    _SCHEDULE.append(tuple(_order))
    _order = [_order[p] for p in _PERM]
del _order

# The eight G applications of a round: state indices, then the message
# word positions (within the round's schedule).
_G = ((0, 4, 8, 12, 0, 1), (1, 5, 9, 13, 2, 3), (2, 6, 10, 14, 4, 5), (3, 7, 11, 15, 6, 7),
      (0, 5, 10, 15, 8, 9), (1, 6, 11, 12, 10, 11), (2, 7, 8, 13, 12, 13), (3, 4, 9, 14, 14, 15))

# Inputs at least this long take the numpy path when numpy is importable.
_NUMPY_FROM = 16 * _CHUNK


def _compress(cv, m, counter, block_len, flags):
    """The compression function: 16 output words (scalar)."""
    s = list(cv) + [_IV[0], _IV[1], _IV[2], _IV[3],
                    counter & _M32, (counter >> 32) & _M32, block_len, flags]
    for sched in _SCHEDULE:
        for a, b, c, d, x, y in _G:
            va, vb, vc, vd = s[a], s[b], s[c], s[d]
            va = (va + vb + m[sched[x]]) & _M32
            vd ^= va
            vd = ((vd >> 16) | (vd << 16)) & _M32
            vc = (vc + vd) & _M32
            vb ^= vc
            vb = ((vb >> 12) | (vb << 20)) & _M32
            va = (va + vb + m[sched[y]]) & _M32
            vd ^= va
            vd = ((vd >> 8) | (vd << 24)) & _M32
            vc = (vc + vd) & _M32
            vb ^= vc
            vb = ((vb >> 7) | (vb << 25)) & _M32
            s[a], s[b], s[c], s[d] = va, vb, vc, vd
    return [s[i] ^ s[i + 8] for i in range(8)] + [s[i + 8] ^ cv[i] for i in range(8)]


def _words(block):
    """A block of at most 64 bytes as 16 little-endian words, zero padded."""
    if len(block) < _BLOCK:
        block = bytes(block) + bytes(_BLOCK - len(block))
    return struct.unpack("<16I", block)


def _chunk(data, index, root):
    """The chaining value of one chunk (<= 1024 bytes), or with root its
    root output words."""
    cv = _IV
    n = max(1, (len(data) + _BLOCK - 1) // _BLOCK)
    for i in range(n):
        block = data[i * _BLOCK:(i + 1) * _BLOCK]
        flags = (_CHUNK_START if i == 0 else 0) | (_CHUNK_END if i == n - 1 else 0)
        if root and i == n - 1:
            flags |= _ROOT
        cv = _compress(cv, _words(block), index, len(block), flags)[:8]
    return cv


def _parent(left, right, root):
    flags = _PARENT | (_ROOT if root else 0)
    return _compress(_IV, list(left) + list(right), 0, _BLOCK, flags)[:8]


def _merge(cvs):
    """Merges chunk chaining values into the root output: adjacent pairs a
    level at a time, an odd one carried up. That is BLAKE3's tree, whose
    left subtrees are always complete."""
    while len(cvs) > 2:
        nxt = [_parent(cvs[i], cvs[i + 1], False) for i in range(0, len(cvs) - 1, 2)]
        if len(cvs) % 2:
            nxt.append(cvs[-1])
        cvs = nxt
    return _parent(cvs[0], cvs[1], True)


def _scalar(data):
    data = memoryview(data).cast("B")
    n = len(data)
    chunks = max(1, (n + _CHUNK - 1) // _CHUNK)
    if chunks == 1:
        return _chunk(data, 0, True)
    cvs = [_chunk(data[i * _CHUNK:(i + 1) * _CHUNK], i, False) for i in range(chunks)]
    return _merge(cvs)


def digest(data) -> bytes:
    """BLAKE3-256 of a bytes-like object."""
    mv = memoryview(data).cast("B")
    if len(mv) >= _NUMPY_FROM:
        try:
            from . import blake3_np
        except ImportError:  # numpy missing: the scalar path still works
            blake3_np = None
        if blake3_np is not None:
            return blake3_np.digest(mv)
    return struct.pack("<8I", *_scalar(mv))


def hexdigest(data) -> str:
    return digest(data).hex()


blake3 = digest
