"""emerge: a Python client for emerge nodes.

    from emerge import Client
    with Client() as c:                       # $EMERGE_NODE or tcp://127.0.0.1:7700
        ref = c.put(b"hello", meta={"step": "1"})
        assert c.get(ref) == b"hello"
        with c.get_view(ref) as v:            # the node's shared memory, when local
            ...
        c.delete(ref)

docs/python.md describes the whole API, the trust model and the object
format of put_arrays.
"""

from .client import Client, is_mapped
from .errors import (BadRef, BadRequest, Canceled, ClientClosed, Corrupt, Deleted, EmergeError, Internal,
                     NoSpace, NotFound, NotLocal, PrefetchFailed, Timeout, TooLarge, Unavailable, Unreachable,
                     Unsupported)
from .types import Member, NodeInfo, ObjectInfo, PrefetchNode, PrefetchStatus, PutResult

__version__ = "0.1.0"

__all__ = ["Client", "is_mapped", "Member", "NodeInfo", "ObjectInfo", "PrefetchNode", "PrefetchStatus", "PutResult",
           "EmergeError", "NotFound", "Deleted", "BadRequest", "BadRef", "TooLarge", "Unavailable", "Internal",
           "NoSpace", "Unsupported", "Timeout", "Canceled", "Unreachable", "Corrupt", "NotLocal",
           "PrefetchFailed", "ClientClosed"]
