"""The object format of put_arrays: numpy arrays, and dicts and lists of
them, as one object whose arrays a reader maps without a copy.

    offset 0   8 bytes  magic b"EMARRAY1"
    offset 8   8 bytes  header length H, little-endian
    offset 16  H bytes  header, msgpack
               padding to a multiple of 64
    data       each array's bytes, in C or Fortran order, each padded to a
               multiple of 64 (so each starts 64-byte aligned in a mapping)

The header is {"v": 1, "data": data offset, "tree": node}, where a node
is {"a": [dtype str, shape, order "C"|"F", offset from the data section,
bytes]} for an array, {"d": {key: node}} for a dict (str keys),
{"l": [node...]} for a list, {"t": [node...]} for a tuple, or {"x": value}
for a leaf msgpack carries (None, bool, int, float, str, bytes). Reading
runs no code from the object (no pickle): dtypes are numpy type strings,
and object dtypes are refused both ways.
"""

from __future__ import annotations

import struct

import msgpack
import numpy as np

from . import errors

MAGIC = b"EMARRAY1"
CONTENT_TYPE = "application/x-emerge-arrays"
ALIGN = 64
_MAX_HEADER = 64 << 20
_LEAVES = (type(None), bool, int, float, str, bytes)


def _pad(n: int) -> int:
    return -n % ALIGN


class _Encoder:
    def __init__(self):
        self.arrays = []  # (byte view, length)
        self.offset = 0   # from the start of the data section

    def node(self, v, path: str):
        if isinstance(v, np.ndarray):
            return {"a": self.array(v, path)}
        if isinstance(v, np.generic):
            return {"a": self.array(np.asarray(v), path)}
        if isinstance(v, dict):
            for k in v:
                if not isinstance(k, str):
                    raise TypeError(f"put_arrays: key {k!r} at {path or '/'} is not a str")
            return {"d": {k: self.node(x, f"{path}/{k}") for k, x in v.items()}}
        if isinstance(v, (list, tuple)):
            kind = "l" if isinstance(v, list) else "t"
            return {kind: [self.node(x, f"{path}/{i}") for i, x in enumerate(v)]}
        if isinstance(v, _LEAVES):
            return {"x": v}
        raise TypeError(f"put_arrays: {type(v).__name__} at {path or '/'} is not an array, dict, list or "
                        "msgpack leaf")

    def array(self, a: np.ndarray, path: str):
        if a.dtype.hasobject or a.dtype.fields is not None or a.dtype.subdtype is not None:
            raise TypeError(f"put_arrays: dtype {a.dtype} at {path or '/'}: only plain numeric, bool, "
                            "datetime and fixed-width string dtypes")
        if a.flags.c_contiguous:
            order, flat = "C", a.reshape(-1, order="C")
        elif a.flags.f_contiguous:
            order, flat = "F", a.reshape(-1, order="F")
        else:
            order, flat = "C", np.ascontiguousarray(a).reshape(-1)
        view = memoryview(flat.view(np.uint8)) if flat.nbytes else memoryview(b"")
        entry = [a.dtype.str, list(a.shape), order, self.offset, flat.nbytes]
        self.arrays.append(view)
        self.offset += flat.nbytes + _pad(flat.nbytes)
        return entry


def encode(value) -> list:
    """The object as a list of byte segments (the arrays' own memory, not
    copied), for put to send or write in order."""
    enc = _Encoder()
    tree = enc.node(value, "")
    # Offsets are written relative to the data section, then shifted once
    # the header's size (which depends on them only through their width) is
    # known: encode with the final data offset until it is stable.
    data = ALIGN
    while True:
        header = msgpack.packb({"v": 1, "data": data, "tree": tree}, use_bin_type=True)
        need = 16 + len(header)
        need += _pad(need)
        if need <= data:
            break
        data = need
    prefix = MAGIC + struct.pack("<Q", len(header)) + header
    segs = [prefix, bytes(data - len(prefix))]
    for view in enc.arrays:
        segs.append(view)
        if _pad(len(view)):
            segs.append(bytes(_pad(len(view))))
    return segs


def _bad(why: str) -> errors.Corrupt:
    return errors.Corrupt(f"get_arrays: not a put_arrays object: {why}")


def decode(buf: memoryview, readonly: bool):
    """The value stored by encode, its arrays views of buf (no copy)."""
    if len(buf) < 16 or bytes(buf[:8]) != MAGIC:
        raise _bad("no magic")
    (hlen,) = struct.unpack("<Q", buf[8:16])
    if hlen > min(_MAX_HEADER, len(buf) - 16):
        raise _bad(f"header of {hlen} bytes")
    try:
        head = msgpack.unpackb(buf[16:16 + hlen], raw=False)
        data, tree = head["data"], head["tree"]
    except (ValueError, TypeError, KeyError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as e:
        raise _bad(f"header: {e}") from None
    if head.get("v") != 1 or not isinstance(data, int) or not 16 + hlen <= data <= len(buf):
        raise _bad("header version or data offset")
    return _node(buf, data, tree, readonly)


def _node(buf, data: int, n, readonly: bool):
    if not isinstance(n, dict) or len(n) != 1:
        raise _bad("tree node")
    (kind, v), = n.items()
    if kind == "a":
        return _array(buf, data, v, readonly)
    if kind == "d" and isinstance(v, dict):
        return {k: _node(buf, data, x, readonly) for k, x in v.items()}
    if kind in ("l", "t") and isinstance(v, list):
        items = [_node(buf, data, x, readonly) for x in v]
        return items if kind == "l" else tuple(items)
    if kind == "x":
        return v
    raise _bad(f"tree node kind {kind!r}")


def _array(buf, data: int, entry, readonly: bool) -> np.ndarray:
    try:
        dtype_s, shape, order, off, nbytes = entry
        dtype = np.dtype(dtype_s)
        shape = tuple(int(x) for x in shape)
    except (ValueError, TypeError) as e:
        raise _bad(f"array entry: {e}") from None
    if dtype.hasobject or order not in ("C", "F") or any(x < 0 for x in shape):
        raise _bad(f"array of dtype {dtype_s!r}, order {order!r}")
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    start = data + off
    if nbytes != count * dtype.itemsize or off < 0 or start + nbytes > len(buf):
        raise _bad(f"array of {nbytes} bytes at {start} in {len(buf)}")
    a = np.frombuffer(buf, dtype=dtype, count=count, offset=start) if count else np.empty(0, dtype=dtype)
    a = a.reshape(shape, order=order)
    if readonly and a.flags.writeable:
        a.flags.writeable = False
    return a
