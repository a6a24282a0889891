"""What the client returns: plain dataclasses, refs as 64-character hex
strings."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class NodeInfo:
    """What the node said about itself when the client connected."""
    endpoint: str
    id: str
    host: str
    version: str
    block_size: int
    max_inline: int


@dataclass(frozen=True)
class PutResult:
    """What a put stored. copies is the durable copies of the object's
    least replicated block when the put returned, replicas its target: a
    put returns once min_replicas copies exist (1 by default), and the
    node's repair makes the rest as members come. copies < replicas is not
    an error (under_target says so)."""
    ref: str
    size: int
    blocks: int
    copies: int
    replicas: int
    local: bool = False  # filled through the node's shared memory

    @property
    def under_target(self) -> bool:
        return self.copies < self.replicas

    def __str__(self) -> str:
        return self.ref


@dataclass(frozen=True)
class ObjectInfo:
    """An object's summary (stat, ls)."""
    ref: str
    size: int
    block_size: int
    blocks: int
    replicas: int
    created_ns: int
    content_type: str = ""
    meta: dict = field(default_factory=dict)
    local_blocks: int = 0  # blocks the answering node holds (stat)

    @classmethod
    def from_wire(cls, w: dict) -> "ObjectInfo":
        return cls(ref=bytes(w["r"]).hex(), size=w.get("s", 0), block_size=w.get("bs", 0), blocks=w.get("n", 0),
                   replicas=w.get("rep", 0), created_ns=w.get("c", 0), content_type=w.get("ct") or "",
                   meta=w.get("meta") or {}, local_blocks=w.get("loc", 0))


@dataclass(frozen=True)
class PrefetchNode:
    """One target's progress."""
    node: str
    state: str  # unknown, pending, running, done, failed
    blocks: int = 0
    total: int = 0
    bytes: int = 0
    size: int = 0
    served: int = 0
    attempts: int = 0
    error: str = ""
    started_ns: int = 0
    finished_ns: int = 0

    @classmethod
    def from_wire(cls, w: dict) -> "PrefetchNode":
        return cls(node=w.get("node", ""), state=w.get("state", ""), blocks=w.get("blocks", 0),
                   total=w.get("total", 0), bytes=w.get("bytes", 0), size=w.get("size", 0),
                   served=w.get("served", 0), attempts=w.get("attempts", 0), error=w.get("err", ""),
                   started_ns=w.get("started", 0), finished_ns=w.get("finished", 0))


@dataclass(frozen=True)
class PrefetchStatus:
    """The progress of a prefetch on every live target."""
    ref: str
    source: str
    groups: tuple
    served: int  # bytes the answering node served to peers
    nodes: tuple  # of PrefetchNode

    @property
    def done(self) -> bool:
        """Every target holds the object (none failed, none still going)."""
        return all(n.state == "done" for n in self.nodes)

    @property
    def failed(self) -> list:
        return [n.node for n in self.nodes if n.state == "failed"]

    @property
    def progress(self) -> tuple:
        """(bytes held, bytes wanted) over all targets."""
        return sum(n.bytes for n in self.nodes), sum(n.size for n in self.nodes)


@dataclass(frozen=True)
class Member:
    """A member of the network as the answering node sees it."""
    id: str
    state: str  # alive, suspect, dead, left
    rpc: str
    pub: str
    host: str
    groups: tuple
    incarnation: int
    last_heard_ns: int
    is_self: bool  # the answering node

    @classmethod
    def from_wire(cls, w: dict, self_id: str) -> "Member":
        return cls(id=w.get("id", ""), state=w.get("state", ""), rpc=w.get("rpc", ""), pub=w.get("pub", ""),
                   host=w.get("host", ""), groups=tuple(w.get("groups") or ()), incarnation=w.get("inc", 0),
                   last_heard_ns=w.get("heard", 0), is_self=w.get("id") == self_id)
