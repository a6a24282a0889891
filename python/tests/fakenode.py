"""A scripted stand-in for a node, for what a real node cannot be made to
do on demand: answer internal, timeout or canceled, send a manifest that
does not match its ref, a corrupt block, a failed prefetch. One thread
owns its ROUTER socket; handler(header, data) returns (reply fields,
reply data frames) or None to stay silent.
"""

from __future__ import annotations

import threading

import msgpack
import zmq


class FakeNode:
    def __init__(self, handler, host: str = "fake-host"):
        self.handler = handler
        self.host = host
        self._ctx = zmq.Context()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self.endpoint = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def _run(self):
        sock = self._ctx.socket(zmq.ROUTER)
        sock.setsockopt(zmq.LINGER, 0)
        port = sock.bind_to_random_port("tcp://127.0.0.1")
        self.endpoint = f"tcp://127.0.0.1:{port}"
        self._ready.set()
        try:
            while not self._stop.is_set():
                if not sock.poll(50):
                    continue
                frames = sock.recv_multipart()
                route, head, data = frames[0], msgpack.unpackb(frames[2], raw=False), frames[3:]
                out = self._answer(head, data)
                if out is not None:
                    fields, reply_data = out
                    rep = {"v": 1, "op": head["op"], "id": head["id"], **fields}
                    sock.send_multipart([route, b"", msgpack.packb(rep, use_bin_type=True), *reply_data])
        finally:
            sock.close(0)

    def _answer(self, head, data):
        if head["op"] == 1:  # ping
            return {"node": "fake", "host": self.host, "ver": "fake", "bs": 1 << 20, "maxin": 16 << 20}, []
        return self.handler(head, data)

    def close(self):
        self._stop.set()
        self._thread.join(10)
        self._ctx.term()
