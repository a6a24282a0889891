"""Every error class: provoked on a real node where a real node can be made
to answer with it, and from a scripted node (tests/fakenode.py) for the
statuses a healthy node gives only under failure (internal, timeout,
canceled) and for replies that fail verification."""

from __future__ import annotations

import time

import msgpack
import numpy as np
import pytest

import emerge
from emerge import blake3, errors, wire
from fakenode import FakeNode

MIB = 1 << 20
NO_SUCH_REF = "ab" * 32


def test_not_found(client, remote):
    for c in (client, remote):
        for call in (c.get, c.stat, c.get_view, c.open, c.get_arrays, c.prefetch_status):
            with pytest.raises(emerge.NotFound) as e:
                call(NO_SUCH_REF)
            assert type(e.value) is emerge.NotFound and e.value.status == 1
            assert isinstance(e.value, LookupError)


def test_deleted(client, remote):
    ref = remote.put(b"soon gone")
    client.get_view(ref).release()  # hot copy first: a delete must still win
    remote.delete(ref)
    for c in (client, remote):
        for call in (c.get, c.get_view, c.stat):
            with pytest.raises(emerge.Deleted) as e:
                call(ref)
            assert e.value.status == 7 and isinstance(e.value, emerge.NotFound)


def test_bad_request(remote):
    with pytest.raises(emerge.BadRequest) as e:
        remote.put(b"x", meta={"": "empty key"})
    assert e.value.status == 2 and isinstance(e.value, ValueError)
    with pytest.raises(emerge.BadRequest):
        remote.put(b"x", block_size=1000)  # under the 64 KiB minimum
    with pytest.raises(emerge.BadRequest):
        remote.put("/no/such/file/anywhere")  # a str is a path; an unreadable one is bad input


def test_bad_ref(remote):
    for ref in ("xyz", "zz" * 32, b"short", 12):
        with pytest.raises(emerge.BadRef) as e:
            remote.get(ref)
        assert isinstance(e.value, emerge.BadRequest)


def test_names(remote):
    ref1 = remote.put(b"first", name="/datasets/x.bin")
    ref2 = remote.put(b"second", name="/datasets/x.bin")
    assert remote.get("/datasets/x.bin") == b"second"
    assert remote.get("/datasets/x.bin@1") == b"first"
    assert remote.resolve("/datasets/x.bin@1")["ref"] == ref1
    assert [e["version"] for e in remote.versions("/datasets/x.bin")] == [1, 2]
    with pytest.raises(emerge.NotFound):
        remote.get("/datasets/none.bin")
    with pytest.raises(emerge.BadRequest):
        remote.get("/datasets/x.bin@0")
    with pytest.raises(emerge.BadRequest):
        remote.put(b"x", name="relative/x.bin")
    assert sorted(remote.remove_name("/datasets/x.bin", all_versions=True)) == sorted([ref1, ref2])
    with pytest.raises(emerge.Deleted):
        remote.get("/datasets/x.bin")


def test_bind_keeps_versions(remote):
    refs = [remote.put(b"v%d" % i) for i in range(3)]
    for r in refs:
        e = remote.bind("/keep/k.bin", r, keep=2)
    assert e["keep"] == 2 and e["version"] == 3
    assert [v["erased"] for v in remote.versions("/keep/k.bin")] == [True, False, False]
    assert remote.get("/keep/k.bin@2") == b"v1"
    with pytest.raises(emerge.Deleted):
        remote.get("/keep/k.bin@1")


def test_too_large_and_no_space(nodes):
    n = nodes.start("--replicas", "1", "--shm-bytes", "4MiB")
    with emerge.Client(n.rpc) as c:
        with pytest.raises(emerge.TooLarge) as e:
            c.create_upload(5 * MIB)  # over the whole shared memory: stream instead
        assert e.value.status == 3
        first = c.create_upload(3 * MIB)
        with pytest.raises(emerge.NoSpace) as e:
            c.create_upload(3 * MIB)  # uploads are never evicted
        assert e.value.status == 6
        first.abort()
        c.create_upload(3 * MIB).abort()
        with pytest.raises(emerge.TooLarge):
            c._conn.call(wire.PUT_OBJECT, {}, [bytes(17 * MIB)])  # over the one-message limit


def test_unavailable(remote):
    with pytest.raises(emerge.Unavailable) as e:
        remote.put(b"two copies now", min_replicas=2)  # one member alive
    assert e.value.status == 4
    with pytest.raises(emerge.Unavailable):
        remote.put(np.zeros(3 * MIB, dtype=np.uint8), min_replicas=2)  # streamed: fails at commit
    assert remote.info()["uploads"] == 0, "a failed put leaves no upload behind"


def test_unsupported(remote):
    with pytest.raises(emerge.Unsupported) as e:
        remote._conn.call(200)  # an op this node does not know
    assert e.value.status == 8


def test_unsupported_shm_is_not_local(nodes):
    n = nodes.start("--replicas", "1", "--shm-off")
    with emerge.Client(n.rpc) as c:
        with pytest.raises(emerge.NotLocal):
            c.create_upload(10)


def test_unreachable():
    t = time.monotonic()
    with pytest.raises(emerge.Unreachable) as e:
        emerge.Client("tcp://127.0.0.1:9", dial_timeout=0.3)
    assert "tcp://127.0.0.1:9" in str(e.value) and isinstance(e.value, ConnectionError)
    assert time.monotonic() - t < 30


def test_unreachable_after_node_dies(nodes):
    n = nodes.start("--replicas", "1")
    c = emerge.Client(n.rpc, timeout=0.5)
    ref = c.put(b"x")
    n.kill()
    with pytest.raises(emerge.Unreachable):
        c.stat(ref)
    c.close()


def test_bad_endpoint():
    with pytest.raises(emerge.BadRequest):
        emerge.Client("not-an-endpoint")


def test_client_closed(node):
    c = emerge.Client(node.rpc)
    c.close()
    c.close()
    with pytest.raises(emerge.ClientClosed):
        c.put(b"x")


@pytest.fixture
def fake():
    made = []

    def start(handler, **kw):
        f = FakeNode(handler, **kw)
        made.append(f)
        return f
    yield start
    for f in made:
        f.close()


@pytest.mark.parametrize("status,cls", [(1, emerge.NotFound), (2, emerge.BadRequest), (3, emerge.TooLarge),
                                        (4, emerge.Unavailable), (5, emerge.Internal), (6, emerge.NoSpace),
                                        (7, emerge.Deleted), (8, emerge.Unsupported), (9, emerge.Timeout),
                                        (10, emerge.Canceled)])
def test_every_status(fake, status, cls):
    f = fake(lambda h, d: ({"st": status, "msg": f"scripted {errors.STATUS_NAMES[status]}"}, []))
    with emerge.Client(f.endpoint) as c:
        with pytest.raises(cls) as e:
            c.stat(NO_SUCH_REF)
    assert type(e.value) is cls and e.value.status == status and e.value.op == "stat"
    assert str(e.value) == f"scripted {errors.STATUS_NAMES[status]}"


def test_unknown_status(fake):
    f = fake(lambda h, d: ({"st": 42, "msg": "from a newer node"}, []))
    with emerge.Client(f.endpoint) as c:
        with pytest.raises(emerge.EmergeError) as e:
            c.stat(NO_SUCH_REF)
    assert e.value.status == 42


def _record(ids: bytes, size: int, bs: int = 1 << 20):
    identity = msgpack.packb([1, size, bs, ids, "", None], use_bin_type=True)
    return identity, msgpack.packb([identity, 1, 0], use_bin_type=True)


def test_corrupt_manifest(fake):
    identity, rec = _record(blake3.digest(b"x"), 1)
    f = fake(lambda h, d: ({"man": True, "first": 0, "count": 1, "size": 1, "n": 1}, [rec, b"x"]))
    with emerge.Client(f.endpoint) as c:
        with pytest.raises(emerge.Corrupt):
            c.get(NO_SUCH_REF)  # the manifest is not the one of the ref asked for
        good_ref = blake3.hexdigest(identity)
        assert c.get(good_ref) == b"x"
    with emerge.Client(f.endpoint, verify=False) as c:
        assert c.get(NO_SUCH_REF) == b"x"  # verify=False trusts the node


def test_corrupt_block(fake):
    identity, rec = _record(blake3.digest(b"right"), 5)
    ref = blake3.hexdigest(identity)
    f = fake(lambda h, d: ({"man": True, "first": 0, "count": 1, "size": 5, "n": 1}, [rec, b"wrong"]))
    with emerge.Client(f.endpoint, verify=True) as c:
        with pytest.raises(emerge.Corrupt):
            c.get(ref)
    with emerge.Client(f.endpoint) as c:
        assert c.get(ref) == b"wrong"  # the default trusts block bytes to the node (docs/python.md)
    short = fake(lambda h, d: ({"man": True, "first": 0, "count": 1, "size": 5, "n": 1}, [rec, b"shor"]))
    with emerge.Client(short.endpoint) as c:
        with pytest.raises(emerge.Corrupt):
            c.get(ref)  # lengths are always checked


def _status(state):
    node = {"node": "n1", "state": state, "blocks": 1, "total": 2, "bytes": 10, "size": 20, "err": "boom"}
    return {"ref": bytes.fromhex(NO_SUCH_REF), "source": "fake", "nodes": [node]}


def test_prefetch_failed_and_timeout(fake):
    f = fake(lambda h, d: ({} if h["op"] == wire.PREFETCH else _status("failed"), []))
    with emerge.Client(f.endpoint) as c:
        with pytest.raises(emerge.PrefetchFailed) as e:
            c.prefetch(NO_SUCH_REF, "actor", wait=True, timeout=5)
        assert e.value.status_report.failed == ["n1"]
    g = fake(lambda h, d: ({} if h["op"] == wire.PREFETCH else _status("running"), []))
    with emerge.Client(g.endpoint) as c:
        with pytest.raises(emerge.Timeout) as e:
            c.prefetch(NO_SUCH_REF, "actor", wait=True, timeout=0.3, interval=0.05)
        assert isinstance(e.value, TimeoutError) and e.value.last.progress == (10, 20)


def test_silent_node_times_out(fake):
    f = fake(lambda h, d: None)
    with emerge.Client(f.endpoint, timeout=0.3) as c:
        with pytest.raises(emerge.Unreachable) as e:
            c.stat(NO_SUCH_REF)
        assert "stat" in str(e.value)


def test_stray_and_malformed_replies_are_ignored(fake):
    calls = {"n": 0}

    def handler(h, d):
        calls["n"] += 1
        if calls["n"] == 1:
            return None  # the first stat is never answered
        return {"info": {"r": bytes(32), "s": 1}}, []
    f = fake(handler)
    with emerge.Client(f.endpoint, timeout=0.3) as c:
        with pytest.raises(emerge.Unreachable):
            c.stat(NO_SUCH_REF)
        assert c.stat(NO_SUCH_REF).size == 1  # the connection is still usable


def test_reply_for_another_block(fake):
    blocks = [bytes([i]) * (1 << 20) for i in range(2)]
    identity, rec = _record(b"".join(blake3.digest(b) for b in blocks), 2 << 20)
    ref = blake3.hexdigest(identity)

    def handler(h, d):
        if h.get("man"):
            return {"man": True, "first": 0, "count": 0, "size": 2 << 20, "n": 2}, [rec]
        return {"first": 1 - h["first"], "count": 1}, [blocks[1 - h["first"]]]  # swapped
    f = fake(handler)
    with emerge.Client(f.endpoint) as c:
        with pytest.raises(emerge.Corrupt):
            c.get(ref)


def test_text_file_refused(remote, tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("text")
    with open(p) as f, pytest.raises(TypeError):
        remote.put(f)


def test_frame_over_cap_is_refused(fake):
    big = bytes(wire.MAX_FRAME + 1)
    f = fake(lambda h, d: ({"info": {"r": bytes(32), "s": 1}}, [big]))
    with emerge.Client(f.endpoint, timeout=1) as c:
        with pytest.raises(emerge.Unreachable):
            c.stat(NO_SUCH_REF)  # the connection is dropped, the frame never delivered
