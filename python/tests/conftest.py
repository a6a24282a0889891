"""Fixtures: real emerge nodes (tests/nodeproc.py) and clients of them.

`node` is one node alone, shared by a test module, with the default
replicas (2, so a put returns with 1 copy of 2); `nodes` starts nodes for
one test. A failing test prints the logs of the nodes it used.
"""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

import emerge  # noqa: E402
import nodeproc  # noqa: E402


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def _failed(request) -> bool:
    rep = getattr(request.node, "rep_call", None)
    return rep is not None and rep.failed


@pytest.fixture(scope="session")
def emerge_bin():
    try:
        return nodeproc.binary()
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture
def nodes(emerge_bin, request):
    ns = nodeproc.Nodes(emerge_bin)
    yield ns
    if _failed(request):
        print(ns.logs())
    ns.cleanup()


@pytest.fixture(scope="module")
def node(emerge_bin):
    ns = nodeproc.Nodes(emerge_bin)
    # Alone, a node looks for an unknown ref for locate_timeout (10 s by
    # default) before answering not_found.
    n = ns.start("--locate-timeout", "300ms")
    yield n
    ns.cleanup()


@pytest.fixture(scope="module")
def client(node):
    """A client of `node`, using shared memory (same machine)."""
    with emerge.Client(node.rpc) as c:
        assert c.local, "the test node should be on this machine"
        yield c


@pytest.fixture(scope="module")
def remote(node):
    """A client of `node` that never uses shared memory: everything streams."""
    with emerge.Client(node.rpc, shm=False) as c:
        yield c
