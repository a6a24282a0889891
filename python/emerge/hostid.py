"""The id of the machine this process runs on, derived exactly as the node
derives its own: a node on the same machine reports the same id in ping,
which is how a client knows it may use the node's shared memory.

EMERGE_HOST_ID overrides it, for the client as for the node.
"""

from __future__ import annotations

import os

from . import blake3

_SOURCES = ("/etc/machine-id", "/var/lib/dbus/machine-id", "/proc/sys/kernel/random/boot_id")

# What Go's strings.TrimSpace trims (unicode.IsSpace), so that a file with
# unusual padding still gives the node's answer.
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
            "\u2028\u2029\u202f\u205f\u3000"


def _trim(raw: bytes) -> bytes:
    text = raw.decode("utf-8", "surrogateescape").strip(_GO_SPACE)
    return text.encode("utf-8", "surrogateescape")


def _hostname() -> bytes:
    try:
        return os.uname().nodename.encode("utf-8", "surrogateescape")
    except OSError:
        return b""


def get() -> str:
    """The host id: BLAKE3 over the machine ids, the boot id and the host
    name, first 16 bytes in hex. Containers with their own host name get
    their own id, the safe answer since they may not share /dev/shm."""
    override = os.environ.get("EMERGE_HOST_ID", "")
    if override:
        return override
    parts = []
    for path in _SOURCES:
        try:
            with open(path, "rb") as f:
                parts.append(_trim(f.read()))
        except OSError:
            continue
    parts.append(_hostname())
    return blake3.digest(b"".join(parts))[:16].hex()
