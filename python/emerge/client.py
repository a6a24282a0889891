"""The client: one connection to one node.

A Client talks to the node at its endpoint over one DEALER socket,
keeping several requests in flight for streamed transfers. When the node
runs on this machine (the host id it reports in ping equals this
process's) and has shared memory on, gets read the object's hot copy in
the node's shared memory and puts of more than one block fill an upload
file there, so no object byte crosses the socket. Everything else streams.
"""

from __future__ import annotations

import os
import time

import zmq

from . import errors, hostid, wire
from . import getting, putting
from .conn import Conn
from .types import Member, NodeInfo, ObjectInfo, PrefetchNode, PrefetchStatus, PutResult

DEFAULT_ENDPOINT = "tcp://127.0.0.1:7700"


class Client:
    """Client(endpoint=None) connects to a node: endpoint, else $EMERGE_NODE,
    else tcp://127.0.0.1:7700. It fails within dial_timeout seconds with
    Unreachable, naming the endpoint, when no node answers.

    timeout bounds each request (seconds); window is the block requests a
    streamed put or get keeps in flight. shm=False never uses the node's
    shared memory. verify chooses what the client checks of what it
    receives over the socket (docs/python.md, "Verification"):
    "manifest" (default) checks each object's manifest against its ref and
    every block's length; True also hashes every block (BLAKE3 in Python,
    tens of MB/s); False checks lengths only.

    A Client may be shared between threads (requests are serialised on its
    socket); readers from open() are not thread-safe. Close it, or use it
    as a context manager.
    """

    def __init__(self, endpoint: str | None = None, *, timeout: float = 60.0, dial_timeout: float = 5.0,
                 window: int = 8, shm: bool = True, verify="manifest"):
        if verify not in ("manifest", True, False):
            raise ValueError(f"verify must be 'manifest', True or False, not {verify!r}")
        if window < 1 or timeout <= 0 or dial_timeout <= 0:
            raise ValueError("window must be >= 1 and timeouts > 0")
        self.endpoint = endpoint or os.environ.get("EMERGE_NODE") or DEFAULT_ENDPOINT
        self.timeout = timeout
        self.window = window
        self.verify = verify
        self._shm = shm
        self._host = hostid.get()
        self._zctx = zmq.Context()
        self._conn = None
        try:
            self._conn = Conn(self._zctx, self.endpoint, timeout)
            self.node = self._ping(dial_timeout)
        except BaseException:
            self.close()
            raise

    def _ping(self, dial_timeout: float) -> NodeInfo:
        try:
            r = self._conn.call(wire.PING, timeout=dial_timeout)
        except errors.Unreachable:
            raise errors.Unreachable(f"no node answering at {self.endpoint} (waited {dial_timeout:g}s)",
                                     op="ping") from None
        return NodeInfo(endpoint=self.endpoint, id=r.get("node", ""), host=r.get("host", ""),
                        version=r.get("ver", ""), block_size=r.get("bs") or (1 << 20),
                        max_inline=r.get("maxin") or (16 << 20))

    # Lifecycle.

    def close(self) -> None:
        """Closes the connection. Safe to call twice. Views and arrays
        already mapped stay valid."""
        if self._conn is not None:
            self._conn.close()
        if self._zctx is not None:
            self._zctx.term()
            self._zctx = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def local(self) -> bool:
        """The node is on this machine with shared memory usable: gets map
        or read its hot copies, puts of more than a block fill its memory."""
        return self._shm and bool(self.node.host) and self.node.host == self._host

    def _shm_off(self) -> None:
        """Stops trying shared memory: the node has none, or its files are
        not this process's to open."""
        self._shm = False

    # Objects.

    def put(self, data, *, replicas: int | None = None, min_replicas: int | None = None, meta: dict | None = None,
            content_type: str | None = None, block_size: int | None = None, prefetch_group=None,
            prefetch_nodes=None, name: str | None = None, progress=None) -> str:
        """Stores data as one object and returns its ref (64 hex chars).

        data: bytes-like (bytes, bytearray, memoryview, a contiguous numpy
        array: not copied), a path (str or os.PathLike), or a binary file
        object read to its end. replicas is the target of durable copies,
        min_replicas those the put waits for (node defaults: 2 and 1);
        meta a dict of str to str. prefetch_group (a name or a list) and
        prefetch_nodes (node ids) spread the object in the background once
        stored (prefetch() waits for it). progress(done) is called with the
        bytes the node has acknowledged. See put_result for the copies
        made. A failed put leaves nothing behind.
        """
        return self.put_result(data, replicas=replicas, min_replicas=min_replicas, meta=meta,
                               content_type=content_type, block_size=block_size, prefetch_group=prefetch_group,
                               prefetch_nodes=prefetch_nodes, name=name, progress=progress).ref

    def put_result(self, data, *, replicas: int | None = None, min_replicas: int | None = None,
                   meta: dict | None = None, content_type: str | None = None, block_size: int | None = None,
                   prefetch_group=None, prefetch_nodes=None, name: str | None = None, progress=None) -> PutResult:
        """put, returning what was stored: ref, size, blocks, and copies
        made of replicas wanted. A put on a lone node returns with 1 copy
        of 2: that is not an error, the node's repair makes the rest when
        members join (PutResult.under_target)."""
        _check_name(name)
        params = _put_params(replicas, min_replicas, meta, content_type, block_size or self.node.block_size)
        res = putting.put(self, data, params, progress)
        if name is not None:
            self.bind(name, res.ref)
        self._prefetch_after(res.ref, prefetch_group, prefetch_nodes)
        return res

    # Names (docs/names.md): every call that takes a ref also takes a name,
    # "/path" (its latest version) or "/path@N".

    def bind(self, name: str, ref, *, mode: int | None = None, ttl: float | None = None,
             keep: int | None = None, keep_for: float | None = None) -> dict:
        """Binds name (an absolute path such as /models/policy.bin) to an
        object that exists: a new version of name. mode (advisory) defaults
        to 0o666, ttl (seconds) to forever. keep: the versions kept, this
        one included (-1 all; default the node's names_keep_versions);
        keep_for (seconds): versions older than that before this one are
        erased. Returns the entry (path, version, ref, ...)."""
        _check_name(name)
        fields = {"path": name, "ref": self._ref(ref)}
        if mode:
            fields["mode"] = int(mode)
        if ttl:
            fields["ttl"] = int(ttl * 1e9)
        if keep:
            fields["keep"] = int(keep)
        if keep_for:
            fields["keep_for"] = int(keep_for * 1e9)
        return _entry(self._conn.call(wire.NAME_BIND, fields).get("e") or {})

    def resolve(self, name: str) -> dict:
        """The entry of name ("/path" or "/path@N"): path, version, ref (hex)
        and the rest. An unknown name raises NotFound, a removed or expired
        one Deleted."""
        _check_name(name)
        return _entry(self._conn.call(wire.NAME_RESOLVE, {"path": name}).get("e") or {})

    def versions(self, name: str) -> list:
        """Every version of name, oldest first."""
        _check_name(name)
        return [_entry(e) for e in self._conn.call(wire.NAME_VERSIONS, {"path": name}).get("entries") or []]

    def remove_name(self, name: str, *, all_versions: bool = False) -> list:
        """Removes name (its earlier versions stay readable as name@N);
        with all_versions every version, deleting the objects no other name
        uses. Returns the refs deleted."""
        _check_name(name)
        r = self._conn.call(wire.NAME_REMOVE, {"path": name, "all": bool(all_versions)})
        return [bytes(b).hex() for b in r.get("deleted") or []]

    def _ref(self, ref) -> bytes:
        """A ref's 32 bytes; a name is resolved by the node."""
        if isinstance(ref, str) and ref.startswith("/"):
            return bytes.fromhex(self.resolve(ref)["ref"])
        return _resolve(ref)

    def get(self, ref) -> bytes:
        """The object's bytes. From a local node, one copy out of its
        shared memory; otherwise streamed (window blocks in flight) and
        checked as verify says."""
        return getting.get_bytes(self, self._ref(ref))

    def get_view(self, ref, *, require_mapped: bool = False) -> memoryview:
        """A read-only memoryview of the object. From a local node it is the
        node's hot copy mapped into this process: no copy, and
        numpy.frombuffer works on it. It holds a lock that keeps the node
        from recycling those pages until the view, and every array made
        from it, is released: use it as a context manager (`with
        c.get_view(ref) as v:`) or call v.release(). Off the node's
        machine, or for an object over the node's shared memory, the bytes
        are streamed into memory instead (is_mapped(v) is False);
        require_mapped=True raises NotLocal then."""
        return getting.get_view(self, self._ref(ref), require_mapped)

    def open(self, ref):
        """A read-only binary file object over the object, for objects
        larger than memory: read(), readinto(), iteration by blocks()
        (window blocks fetched ahead). From a local node it reads the hot
        copy (and is seekable). Close it when done."""
        return getting.open_reader(self, self._ref(ref))

    def stat(self, ref) -> ObjectInfo:
        r = self._conn.call(wire.STAT, {"ref": self._ref(ref)})
        return ObjectInfo.from_wire(r["info"])

    def delete(self, ref) -> int:
        """Deletes the object everywhere; returns the bytes this node freed."""
        return self._conn.call(wire.DELETE, {"ref": self._ref(ref)}).get("freed", 0)

    def ls(self, limit: int | None = None) -> list:
        """The objects of the network as this node knows them, in ref order
        (every page, or the first limit)."""
        out, after = [], None
        while limit is None or len(out) < limit:
            page = wire.MAX_LIST if limit is None else min(wire.MAX_LIST, limit - len(out))
            fields = {"limit": page}
            if after:
                fields["after"] = after
            r = self._conn.call(wire.LIST, fields)
            out.extend(ObjectInfo.from_wire(w) for w in r.get("items") or [])
            after = r.get("next")
            if not after:
                break
        return out

    def info(self) -> dict:
        """The node's identity and counters (the info op's fields)."""
        r = self._conn.call(wire.INFO)
        return {k: v for k, v in r.header.items() if k not in ("v", "op", "id")}

    def members(self) -> list:
        """The members of the network as this node sees them (Member)."""
        r = self._conn.call(wire.MEMBERS)
        return [Member.from_wire(w, r.get("self", "")) for w in r.get("members") or []]

    # Arrays.

    def put_arrays(self, arrays, **put_options) -> str:
        """Stores a numpy array, or a dict / list of them (nested, with str,
        int, float, bool, None or bytes leaves too), as one object; returns
        its ref. Array memory is not copied on the way out except into the
        node's shared memory. Takes put's options."""
        from . import arrays as _arrays
        from .sources import Segments
        return self.put(Segments(_arrays.encode(arrays)), content_type=_arrays.CONTENT_TYPE, **put_options)

    def get_arrays(self, ref, *, copy: bool = False):
        """What put_arrays stored. From a local node the arrays are views of
        the node's shared memory: read-only, no copy; the mapping (and its
        lock) lives as long as any of them. Elsewhere they are read-only
        views of one buffer streamed in. copy=True gives writable arrays
        that own their memory."""
        from . import arrays as _arrays
        return getting.get_arrays(self, self._ref(ref), copy, _arrays)

    # Shared-memory uploads.

    def create_upload(self, size: int):
        """An upload of exactly size bytes in the node's shared memory, for
        a producer that writes the object straight into memory: fill
        upload.memory, then upload.seal(**put options). NotLocal when the
        node is not on this machine or has shared memory off; TooLarge when
        size is over its capacity; NoSpace when other uploads hold it."""
        return putting.create_upload(self, size)

    # Groups and prefetch.

    def register_group(self, name: str) -> list:
        """Makes the node this client talks to a member of group name (it
        survives the node's restart). Returns the node's groups."""
        return self._group("join", name)

    def unregister_group(self, name: str) -> list:
        return self._group("leave", name)

    def groups(self) -> list:
        return self._group("ls", "")

    def _group(self, action: str, name: str) -> list:
        fields = {"action": action}
        if name:
            fields["name"] = name
        return list(self._conn.call(wire.GROUP, fields).get("groups") or [])

    def prefetch(self, ref, group=None, *, nodes=None, wait: bool = True, timeout: float | None = None,
                 interval: float = 0.2, progress=None):
        """Asks the node, which must know ref, to spread it to every member
        of group (a name or a list) and to nodes (node ids). With wait, polls
        every interval until every live target holds it and returns the
        PrefetchStatus; PrefetchFailed when a target gave up, Timeout past
        timeout seconds (None: no limit). progress(status) sees each poll."""
        groups, node_ids = _names(group), _names(nodes)
        if not groups and not node_ids:
            raise ValueError("prefetch needs a group or nodes")
        fields = {"ref": self._ref(ref)}
        if groups:
            fields["groups"] = groups
        if node_ids:
            fields["nodes"] = node_ids
        self._conn.call(wire.PREFETCH, fields)
        if wait:
            return self.wait_prefetch(ref, timeout=timeout, interval=interval, progress=progress)
        return None

    def wait_prefetch(self, ref, *, timeout: float | None = None, interval: float = 0.2, progress=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            st = self.prefetch_status(ref)
            if progress is not None:
                progress(st)
            if st.failed:
                err = errors.PrefetchFailed(f"prefetch of {st.ref[:12]} failed on {', '.join(st.failed)}")
                err.status_report = st
                raise err
            if st.done:
                return st
            if deadline is not None and time.monotonic() >= deadline:
                held, want = st.progress
                err = errors.Timeout(f"prefetch of {st.ref[:12]} not done after {timeout:g}s "
                                     f"({held} of {want} bytes held)")
                err.status, err.last = None, st
                raise err
            time.sleep(interval if deadline is None else max(0.0, min(interval, deadline - time.monotonic())))

    def prefetch_status(self, ref) -> PrefetchStatus:
        r = self._conn.call(wire.PREFETCH_STATUS, {"ref": self._ref(ref)})
        nodes = tuple(PrefetchNode.from_wire(w) for w in r.get("nodes") or [])
        return PrefetchStatus(ref=bytes(r.get("ref") or self._ref(ref)).hex(), source=r.get("source", ""),
                              groups=tuple(r.get("groups") or ()), served=r.get("served", 0), nodes=nodes)

    def _prefetch_after(self, ref, group, nodes) -> None:
        if _names(group) or _names(nodes):
            self.prefetch(ref, group, nodes=nodes, wait=False)


def is_mapped(view) -> bool:
    """Whether a view from get_view is the node's shared memory (no copy)."""
    import mmap
    try:
        return isinstance(view, memoryview) and isinstance(view.obj, mmap.mmap)
    except ValueError:  # released
        return False


def _names(v) -> list:
    if v is None:
        return []
    if isinstance(v, str):
        return [v]
    return [str(x) for x in v]


def _put_params(replicas, min_replicas, meta, content_type, block_size) -> dict:
    p = {"bs": block_size}
    if replicas:
        p["rep"] = replicas
    if min_replicas:
        p["minrep"] = min_replicas
    if content_type:
        p["ct"] = content_type
    if meta:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
            raise TypeError("meta maps str to str")
        p["meta"] = dict(meta)
    return p


# Names. Every call that takes a ref goes through Client._ref, which asks
# the node to resolve a name (a string starting with /), and put binds
# name= after storing.

def _resolve(ref) -> bytes:
    if isinstance(ref, PutResult):
        ref = ref.ref
    return wire.parse_ref(ref)


def _check_name(name) -> None:
    if name is not None and not (isinstance(name, str) and name.startswith("/")):
        raise errors.BadRequest(f"name {name!r} is not absolute (names start with /)")


def _entry(e: dict) -> dict:
    """A name entry from the wire, with readable keys."""
    ref = e.get("ref")
    return {"path": e.get("p", ""), "version": e.get("v", 0), "ref": bytes(ref).hex() if ref else None,
            "removed": bool(e.get("tomb")), "writer": e.get("w", ""), "content_type": e.get("ct", ""),
            "size": e.get("size", 0), "owner": e.get("owner", ""), "mode": e.get("mode", 0),
            "created_ns": e.get("created", 0), "ttl_ns": e.get("ttl", 0),
            "keep": e.get("keep", 0), "keep_for_ns": e.get("keep_for", 0), "erased": bool(e.get("erased"))}
