"""The host id the client derives equals the one a node on this machine
reports (the ready file and ping carry it), and EMERGE_HOST_ID overrides
both."""

from __future__ import annotations

import emerge
from emerge import hostid


def test_same_as_node(nodes, monkeypatch):
    monkeypatch.delenv("EMERGE_HOST_ID", raising=False)
    n = nodes.start("--replicas", "1")
    assert hostid.get() == n.ready["host"]
    with emerge.Client(n.rpc) as c:
        assert c.node.host == hostid.get() and c.local


def test_override(monkeypatch):
    monkeypatch.setenv("EMERGE_HOST_ID", "rack7-host3")
    assert hostid.get() == "rack7-host3"


def test_trim_like_go():
    assert hostid._trim(b"  abc\n") == b"abc"
    assert hostid._trim(b"\xc2\xa0abc\t\r\n") == b"abc"  # U+00A0 is space to Go
    assert hostid._trim(b"\x1cabc") == b"\x1cabc"      # Python's str.strip would trim it; Go does not
    assert hostid._trim(b"\xffabc ") == b"\xffabc"      # invalid UTF-8 kept as is
