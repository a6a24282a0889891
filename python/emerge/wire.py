"""Wire constants and small codecs (docs/protocol.md). Op and status
numbers are append-only on the node's side; this module mirrors them."""

from __future__ import annotations

from . import errors

VERSION = 1

# Ops.
PING, PUT_OBJECT, PUT_START, PUT_DATA, PUT_COMMIT, PUT_ABORT = 1, 2, 3, 4, 5, 6
GET_OBJECT, STAT, DELETE, LIST, INFO = 7, 8, 9, 10, 11
MEMBERS = 14
SHM_GET, SHM_CREATE, SHM_SEAL, SHM_ABORT = 30, 31, 32, 33
GROUP, PREFETCH, PREFETCH_STATUS = 40, 41, 42
NAME_BIND, NAME_RESOLVE, NAME_LIST, NAME_VERSIONS, NAME_MOVE, NAME_REMOVE = 50, 51, 52, 53, 54, 55

OP_NAMES = {PING: "ping", PUT_OBJECT: "put_object", PUT_START: "put_start", PUT_DATA: "put_data",
            PUT_COMMIT: "put_commit", PUT_ABORT: "put_abort", GET_OBJECT: "get_object", STAT: "stat",
            DELETE: "delete", LIST: "list", INFO: "info", MEMBERS: "members", SHM_GET: "shm_get",
            SHM_CREATE: "shm_create", SHM_SEAL: "shm_seal", SHM_ABORT: "shm_abort", GROUP: "group",
            PREFETCH: "prefetch", PREFETCH_STATUS: "prefetch_status", NAME_BIND: "name_bind",
            NAME_RESOLVE: "name_resolve", NAME_LIST: "name_list", NAME_VERSIONS: "name_versions",
            NAME_MOVE: "name_move", NAME_REMOVE: "name_remove"}

# Caps (docs/protocol.md, "Caps").
MAX_HEADER = 1 << 20
MAX_FRAME = (64 << 20) + 4096
MAX_LIST = 1000
MAX_SHM_NAME = 4096
ID_SIZE = 32
MIN_BLOCK_SIZE = 64 << 10
MAX_BLOCK_SIZE = 64 << 20


def op_name(op: int) -> str:
    return OP_NAMES.get(op, f"op({op})")


def parse_ref(ref) -> bytes:
    """A ref as its 32 bytes, from the 64-character hex form (what put
    returns) or 32 bytes. Anything else raises BadRef."""
    if isinstance(ref, (bytes, bytearray, memoryview)):
        b = bytes(ref)
        if len(b) != ID_SIZE:
            raise errors.BadRef(f"ref of {len(b)} bytes, want {ID_SIZE}")
        return b
    if not isinstance(ref, str):
        raise errors.BadRef(f"ref must be a hex string or {ID_SIZE} bytes, not {type(ref).__name__}")
    if len(ref) != 2 * ID_SIZE:
        raise errors.BadRef(f"ref {_clip(ref)!r}: want {2 * ID_SIZE} hex characters, got {len(ref)}")
    try:
        return bytes.fromhex(ref)
    except ValueError:
        raise errors.BadRef(f"ref {_clip(ref)!r}: not hex") from None


def _clip(s: str) -> str:
    return s if len(s) <= 80 else s[:77] + "..."
