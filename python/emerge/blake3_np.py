"""The numpy path of emerge.blake3: every full 1 KiB chunk of the input is
compressed side by side (one array lane per chunk), then the tree is merged
a level at a time, each level's parents side by side. Same digest as the
scalar path; tests check both against ids the Go node computed.
"""

from __future__ import annotations

import struct

import numpy as np

from . import blake3 as _s

_U32 = np.uint32


def _rotr(x, n, tmp):
    # x = (x >> n) | (x << (32 - n)), in place, uint32 wrap-around.
    np.left_shift(x, 32 - n, out=tmp)
    np.right_shift(x, n, out=x)
    np.bitwise_or(x, tmp, out=x)


def _compress(cv, m, counter_lo, counter_hi, block_len, flags):
    """Vectorised compression: cv is 8 arrays, m 16 arrays (one lane per
    input), counter_* arrays, block_len and flags ints or arrays. Returns
    the 8 chaining-value arrays."""
    lanes = cv[0].shape[0]
    s = [np.array(c, dtype=_U32, copy=True) for c in cv]
    s += [np.full(lanes, _s._IV[i], dtype=_U32) for i in range(4)]
    s += [np.array(counter_lo, dtype=_U32), np.array(counter_hi, dtype=_U32),
          np.broadcast_to(np.asarray(block_len, dtype=_U32), (lanes,)).copy(),
          np.broadcast_to(np.asarray(flags, dtype=_U32), (lanes,)).copy()]
    tmp = np.empty(lanes, dtype=_U32)
    add = np.add
    xor = np.bitwise_xor
    for sched in _s._SCHEDULE:
        for a, b, c, d, x, y in _s._G:
            va, vb, vc, vd = s[a], s[b], s[c], s[d]
            add(va, vb, out=va)
            add(va, m[sched[x]], out=va)
            xor(vd, va, out=vd)
            _rotr(vd, 16, tmp)
            add(vc, vd, out=vc)
            xor(vb, vc, out=vb)
            _rotr(vb, 12, tmp)
            add(va, vb, out=va)
            add(va, m[sched[y]], out=va)
            xor(vd, va, out=vd)
            _rotr(vd, 8, tmp)
            add(vc, vd, out=vc)
            xor(vb, vc, out=vb)
            _rotr(vb, 7, tmp)
    return [np.bitwise_xor(s[i], s[i + 8]) for i in range(8)]


def _full_chunks(mv, count):
    """Chaining values of the first count full chunks of mv: (count, 8)."""
    words = np.frombuffer(mv, dtype="<u4", count=count * 256).reshape(count, 16, 16)
    words = words.astype(_U32, copy=False)
    idx = np.arange(count, dtype=np.uint64)
    lo = (idx & 0xFFFFFFFF).astype(_U32)
    hi = (idx >> 32).astype(_U32)
    cv = [np.full(count, _s._IV[i], dtype=_U32) for i in range(8)]
    for j in range(16):
        m = np.ascontiguousarray(words[:, j, :].T)
        flags = (_s._CHUNK_START if j == 0 else 0) | (_s._CHUNK_END if j == 15 else 0)
        cv = _compress(cv, m, lo, hi, _s._BLOCK, flags)
    return np.stack(cv, axis=1)


def _parents(cvs):
    """Parents of adjacent pairs of cvs (an even number of rows)."""
    left, right = cvs[0::2], cvs[1::2]
    m = [np.ascontiguousarray(left[:, i]) for i in range(8)]
    m += [np.ascontiguousarray(right[:, i]) for i in range(8)]
    lanes = left.shape[0]
    iv = [np.full(lanes, _s._IV[i], dtype=_U32) for i in range(8)]
    zero = np.zeros(lanes, dtype=_U32)
    return np.stack(_compress(iv, m, zero, zero, _s._BLOCK, _s._PARENT), axis=1)


def digest(data) -> bytes:
    mv = memoryview(data).cast("B")
    n = len(mv)
    chunks = max(1, (n + _s._CHUNK - 1) // _s._CHUNK)
    if chunks == 1:
        return struct.pack("<8I", *_s._chunk(mv, 0, True))
    full = chunks - 1  # the last chunk (maybe partial) goes the scalar way
    cvs = _full_chunks(mv, full)
    last = _s._chunk(mv[full * _s._CHUNK:], full, False)
    cvs = np.concatenate([cvs, np.array([last], dtype=_U32)])
    while len(cvs) > 2:
        even = len(cvs) - len(cvs) % 2
        nxt = _parents(cvs[:even])
        if len(cvs) % 2:
            nxt = np.concatenate([nxt, cvs[-1:]])
        cvs = nxt
    root = _s._parent([int(v) for v in cvs[0]], [int(v) for v in cvs[1]], True)
    return struct.pack("<8I", *root)
