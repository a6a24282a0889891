"""Real `emerge node` processes for the tests: each on ephemeral ports
(tcp://127.0.0.1:*), with its own data directory and its own
shared-memory directory under /dev/shm, learning its endpoints from the
ready file the node writes once it serves. SIGKILL at the end, and the
shared-memory directory removed (a killed node cannot remove it).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import emerge

# Short membership timers for clusters, as the Go process tests use.
FAST_ARGS = ["--heartbeat", "100ms", "--suspect-after", "400ms", "--dead-after", "1s", "--locate-timeout", "5s"]

READY_TIMEOUT = 60.0


def binary() -> str:
    """The emerge binary: $EMERGE_BIN, else bin/emerge of this repository."""
    path = os.environ.get("EMERGE_BIN") or os.path.join(os.path.dirname(__file__), "..", "..", "bin", "emerge")
    path = os.path.abspath(path)
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"no emerge binary at {path}: run `make build` or set EMERGE_BIN")
    return path


def wait_for(what: str, cond, timeout: float = 30.0, interval: float = 0.05):
    """Polls cond until it returns something true; fails naming what after
    timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


class Node:
    """One `emerge node` process. ready holds id, rpc, pub and host."""

    def __init__(self, bin_path: str, args=(), env=None, shm: bool = True):
        self.bin = bin_path
        self.args = list(args)
        self.env = dict(env or {})
        self.dir = tempfile.mkdtemp(prefix="emerge-py-")
        self.data_dir = os.path.join(self.dir, "data")
        base = "/dev/shm" if shm and os.path.isdir("/dev/shm") else self.dir
        self._shm_parent = tempfile.mkdtemp(prefix="emerge-py-", dir=base)
        self.shm_dir = os.path.join(self._shm_parent, "shm")
        self.log_path = os.path.join(self.dir, "node.log")
        self.ready = {}
        self.proc = None

    @property
    def rpc(self) -> str:
        return self.ready["rpc"]

    @property
    def id(self) -> str:
        return self.ready["node"]

    def start(self) -> "Node":
        ready = os.path.join(self.dir, "ready.json")
        if os.path.exists(ready):
            os.remove(ready)
        cmd = [self.bin, "node", "--listen", "tcp://127.0.0.1:*", "--pub-listen", "tcp://127.0.0.1:*",
               "--data-dir", self.data_dir, "--ready-file", ready, "--log-format", "json", "--log-level", "debug",
               "--shm-dir", self.shm_dir] + self.args
        env = dict(os.environ, **self.env)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                         stdin=subprocess.DEVNULL)
        self._wait_ready(ready)
        return self

    def _wait_ready(self, path: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            try:
                with open(path) as f:
                    self.ready = json.load(f)
                return
            except (OSError, ValueError):
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"emerge node exited ({self.proc.returncode}) before it was ready:\n{self.log()}")
            time.sleep(0.02)
        raise RuntimeError(f"emerge node not ready within {READY_TIMEOUT:g}s:\n{self.log()}")

    def log(self, tail: int = 8000) -> str:
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return ""
        return text if len(text) <= tail else "...\n" + text[-tail:]

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        self._signal(signal.SIGTERM)

    def _signal(self, sig) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def cleanup(self) -> None:
        self.kill()
        shutil.rmtree(self._shm_parent, ignore_errors=True)
        shutil.rmtree(self.dir, ignore_errors=True)


class Nodes:
    """Starts nodes and cleans them all up."""

    def __init__(self, bin_path: str):
        self.bin = bin_path
        self.nodes = []

    def start(self, *args, env=None) -> Node:
        n = Node(self.bin, args, env)
        self.nodes.append(n)
        n.start()
        return n

    def cluster(self, count: int, *args) -> list:
        """count nodes with FAST_ARGS and args, the first the seed of the
        others; returns once every node sees count alive members."""
        first = self.start(*FAST_ARGS, *args)
        nodes = [first] + [self.start(*FAST_ARGS, "--peers", first.rpc, *args) for _ in range(count - 1)]
        for n in nodes:
            with emerge.Client(n.rpc) as c:
                wait_for(f"node {n.id} to see {count} alive members",
                         lambda: sum(m.state == "alive" for m in c.members()) == count)
        return nodes

    def logs(self) -> str:
        return "\n".join(f"--- log of node {n.ready.get('id', '?')} ({n.dir}):\n{n.log()}" for n in self.nodes)

    def cleanup(self) -> None:
        for n in self.nodes:
            n.cleanup()
        self.nodes = []
