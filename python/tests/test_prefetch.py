"""Groups and prefetch across three node processes: two join group actor
through the client, and a prefetch with wait=True returns once both hold
the whole object."""

from __future__ import annotations

import numpy as np
import pytest

import emerge
from nodeproc import wait_for

MIB = 1 << 20


def actors_seen(c, want: set) -> bool:
    return {m.id for m in c.members() if m.state == "alive" and "actor" in m.groups} == want


@pytest.fixture
def cluster(nodes):
    return nodes.cluster(3, "--replicas", "1")


def test_group_and_prefetch_wait(cluster):
    source, a1, a2 = cluster
    for n in (a1, a2):
        with emerge.Client(n.rpc) as c:
            assert c.register_group("actor") == ["actor"]
            assert c.groups() == ["actor"]
    want = np.random.default_rng(40).bytes(24 * MIB + 5)
    with emerge.Client(source.rpc) as c:
        wait_for("the source to see both actors", lambda: actors_seen(c, {a1.id, a2.id}))
        ref = c.put(want)
        seen = []
        st = c.prefetch(ref, "actor", wait=True, timeout=120, progress=seen.append)
        assert st.done and not st.failed and seen[-1] is not None
        assert {x.node for x in st.nodes} == {a1.id, a2.id}
        assert all(x.state == "done" and x.bytes == len(want) for x in st.nodes)
        assert st.progress == (2 * len(want), 2 * len(want))
        assert c.prefetch_status(ref).done
        blocks = c.stat(ref).blocks
    for n in (a1, a2):
        with emerge.Client(n.rpc) as c:
            assert c.stat(ref).local_blocks == blocks, f"{n.id} does not hold every block"
            with c.get_view(ref) as v:
                assert v == want


def test_put_with_prefetch_group(cluster):
    source, a1, a2 = cluster
    with emerge.Client(a1.rpc) as c:
        c.register_group("actor")
    want = np.random.default_rng(41).bytes(5 * MIB)
    with emerge.Client(source.rpc) as c:
        wait_for("the source to see the actor", lambda: actors_seen(c, {a1.id}))
        ref = c.put(want, prefetch_group="actor")  # spreads in the background
        st = c.wait_prefetch(ref, timeout=120)
        assert [x.node for x in st.nodes] == [a1.id] and st.done
    with emerge.Client(a1.rpc) as c:
        assert c.stat(ref).local_blocks == 5
        assert c.unregister_group("actor") == [] and c.groups() == []
    with emerge.Client(a2.rpc, shm=False) as c:
        assert c.get(ref) == want  # a node outside the group still gets it, from the others
