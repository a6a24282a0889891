"""DI-store's README, translated line by line. Its Quick Start:

    di_store etcd_server ./conf/di_store.yaml
    di_store node_tracker ./conf/di_store.yaml
    di_store storage_server ./conf/di_store.yaml

    from di_store import Client
    client = Client('./conf/di_store.yaml')
    ref = client.put(b'Hello world.')
    data = client.get(ref)
    print('data:', data)
    client.delete(ref)

and its prefetch section:

    di_store storage_server ./conf/di_store.yaml --group actor

    ref = client.put(b'Hello world.', prefetch_group='actor')

emerge has no etcd server and no tracker: every machine runs one node,
and the nodes find each other. The conf file's role (where the client's
server is) is played by EMERGE_NODE, or Client(endpoint). The two
snippets are independent examples in DI-store's README, and run here on
separate networks.
"""

from __future__ import annotations

import pytest

import emerge
from nodeproc import FAST_ARGS, wait_for


def test_distore_quick_start(nodes, monkeypatch, capsys):
    # di_store etcd_server ./conf/di_store.yaml
    # di_store node_tracker ./conf/di_store.yaml
    # di_store storage_server ./conf/di_store.yaml
    storage = nodes.start("--locate-timeout", "300ms")
    monkeypatch.setenv("EMERGE_NODE", storage.rpc)  # what ./conf/di_store.yaml tells the client

    # from di_store import Client
    from emerge import Client
    # client = Client('./conf/di_store.yaml')
    client = Client()
    # ref = client.put(b'Hello world.')
    ref = client.put(b'Hello world.')
    # data = client.get(ref)
    data = client.get(ref)
    # print('data:', data)
    print('data:', data)
    # client.delete(ref)
    client.delete(ref)

    assert capsys.readouterr().out == "data: b'Hello world.'\n"
    assert client.node.endpoint == storage.rpc
    with pytest.raises(emerge.Deleted):
        client.get(ref)
    client.close()


def test_distore_object_prefetch(nodes, monkeypatch):
    # di_store storage_server ./conf/di_store.yaml --group actor   (on two actor machines)
    storage = nodes.start(*FAST_ARGS)
    actors = [nodes.start(*FAST_ARGS, "--peers", storage.rpc, "--group", "actor") for _ in range(2)]
    monkeypatch.setenv("EMERGE_NODE", storage.rpc)
    from emerge import Client
    client = Client()
    # register_group('actor'): the client-side way to put a node in a
    # group, here the node the client talks to.
    assert client.register_group('actor') == ['actor']
    targets = {a.id for a in actors} | {storage.id}
    wait_for("the actor group to be known", lambda: {
        m.id for m in client.members() if m.state == "alive" and "actor" in m.groups} == targets)

    # ref = client.put(b'Hello world.', prefetch_group='actor')
    ref = client.put(b'Hello world.', prefetch_group='actor')

    # The spread runs in the background; the test waits for it.
    st = client.wait_prefetch(ref, timeout=60)
    assert {n.node for n in st.nodes} == targets and st.done
    for a in actors:
        with Client(a.rpc) as c:
            assert c.stat(ref).local_blocks == 1 and c.get(ref) == b'Hello world.'
    client.close()
