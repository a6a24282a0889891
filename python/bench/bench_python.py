"""Benchmark of the Python client against the Go client in the same run
(`make bench-python`; docs/benchmarks.md, "Python client").

One `emerge node` alone (replicas 1, shared memory 4 GiB), started here
like the tests start theirs. Each run, every path moves an object of SIZE
bytes (default 1 GiB) whose blocks are stamped with the run and path, so
nothing is deduplicated; objects are deleted between measurements. The Go
client is the emerge CLI (client.Put / client.GetTo), timed as a process
(its start-up, a few ms, included).

Then a loop that puts and gets COUNT_ARRAYS numpy arrays of 8 MiB each with
put_arrays / get_arrays, through shared memory and streamed.

Figures are printed, never judged: the script fails only when a byte read
back is wrong or an operation fails. Knobs (environment): RUNS (3),
SIZE_MIB (1024), COUNT_ARRAYS (100), EMERGE_BIN.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

import emerge  # noqa: E402
import nodeproc  # noqa: E402
from emerge import blake3_np  # noqa: E402

MIB = 1 << 20
RUNS = int(os.environ.get("RUNS", "3"))
SIZE = int(os.environ.get("SIZE_MIB", "1024")) * MIB
COUNT_ARRAYS = int(os.environ.get("COUNT_ARRAYS", "100"))


class Bench:
    def __init__(self, node, tmp):
        self.node = node
        self.tmp = tmp
        self.bin = node.bin
        self.local = emerge.Client(node.rpc)
        self.stream = emerge.Client(node.rpc, shm=False)
        self.data = np.frombuffer(np.random.default_rng(1).bytes(SIZE), dtype=np.uint8).copy()
        self.file = os.path.join(tmp, "object.bin")
        self.figures = {}  # name -> [MB/s per run]
        self._stamp = 0

    def stamp(self):
        """A fresh stamp in every block of the object, in memory and in
        the file: new content for every put."""
        self._stamp += 1
        words = self.data.view(np.uint64)
        words[:: MIB // 8] = self._stamp
        with open(self.file, "r+b" if os.path.exists(self.file) else "wb") as f:
            f.write(self.data.data)

    def record(self, name: str, seconds: float, size: int = SIZE):
        self.figures.setdefault(name, []).append(size / seconds / 1e6)

    def cli(self, *args, stdout=subprocess.DEVNULL) -> str:
        out = subprocess.run([self.bin, "--node", self.node.rpc, *args], stdout=stdout,
                             stderr=subprocess.PIPE, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"emerge {' '.join(args)}: {out.stderr.decode().strip()}")
        return out.stdout.decode().strip() if out.stdout else ""

    def timed(self, fn):
        t = time.perf_counter()
        v = fn()
        return v, time.perf_counter() - t

    # Puts: each returns the ref for the gets after it.

    def put_go(self, shm: bool) -> str:
        self.stamp()
        args = ("put", self.file) if shm else ("--no-shm", "put", self.file)
        ref, s = self.timed(lambda: self.cli(*args, stdout=subprocess.PIPE))
        self.record("put go " + ("shm" if shm else "stream"), s)
        return ref

    def put_py(self, shm: bool, source: str) -> str:
        self.stamp()
        c = self.local if shm else self.stream
        what = self.file if source == "file" else self.data
        res, s = self.timed(lambda: c.put_result(what))
        assert res.local == shm and res.size == SIZE, res
        self.record(f"put py {'shm' if shm else 'stream'} ({source})", s)
        return res.ref

    def check(self, ref: str):
        with self.local.get_view(ref) as v:
            assert v == self.data.data, "object read back differs"
        del v

    def gets(self, ref: str):
        _, s = self.timed(lambda: self.cli("--no-shm", "get", ref))
        self.record("get go stream (to /dev/null)", s)
        _, s = self.timed(lambda: self.cli("get", ref))
        self.record("get go shm (hot copy to /dev/null)", s)

        def stream_blocks():
            with self.stream.open(ref) as f:
                return sum(len(b) for b in f.blocks())
        n, s = self.timed(stream_blocks)
        assert n == SIZE
        self.record("get py stream (open, blocks)", s)
        b, s = self.timed(lambda: self.stream.get(ref))
        assert len(b) == SIZE
        del b
        self.record("get py stream (get -> bytes)", s)

        def view_only():
            v = self.local.get_view(ref)
            assert emerge.is_mapped(v)
            v.release()
        _, s = self.timed(view_only)
        self.record("get py view (map only)", s)

        def view_read():
            v = self.local.get_view(ref)
            total = int(np.frombuffer(v, dtype=np.uint64).sum(dtype=np.uint64))
            v.release()
            return total
        _, s = self.timed(view_read)
        self.record("get py view (map + read every byte)", s)
        b, s = self.timed(lambda: self.local.get(ref))
        assert len(b) == SIZE
        del b
        self.record("get py shm (get -> bytes, pread)", s)

    def run_once(self):
        ref = self.put_go(shm=False)
        self.check(ref)
        self.gets(ref)
        self.local.delete(ref)
        self.local.delete(self.put_go(shm=True))
        for shm in (False, True):
            for source in ("file", "memory"):
                ref = self.put_py(shm, source)
                self.check(ref)
                self.local.delete(ref)

    def arrays_loop(self, c, label: str):
        arrays = [np.full(2 * MIB, float(i), dtype=np.float32) for i in range(COUNT_ARRAYS)]  # 8 MiB each
        refs = []
        t = time.perf_counter()
        for i, a in enumerate(arrays):
            ref = c.put_arrays({"w": a})
            got = c.get_arrays(ref)
            assert got["w"][0] == float(i) and got["w"].nbytes == 8 * MIB
            refs.append(ref)
            del got
        s = time.perf_counter() - t
        for ref in refs:
            c.delete(ref)
        ops = COUNT_ARRAYS / s
        gbs = 2 * COUNT_ARRAYS * 8 * MIB / s / 1e9
        return f"| {label} | {COUNT_ARRAYS} | {s:.2f} | {ops:.1f} | {gbs:.2f} |"

    def hash_speed(self) -> str:
        b = self.data[: 64 * MIB].tobytes()
        t = time.perf_counter()
        for i in range(0, len(b), MIB):
            blake3_np.digest(memoryview(b)[i:i + MIB])
        return f"{len(b) / (time.perf_counter() - t) / 1e6:.1f}"


def report(b: Bench, arrays_rows, hash_mbs):
    print(f"\nobject {SIZE // MIB} MiB, {RUNS} runs, MB/s (10^6 bytes/s): median (min-max)\n")
    print("| path | MB/s | range |")
    print("|---|---|---|")
    for name in sorted(b.figures, key=lambda n: (not n.startswith("put"), " go " not in n, n)):
        v = b.figures[name]
        print(f"| {name} | {statistics.median(v):.0f} | {min(v):.0f}-{max(v):.0f} |")
    print(f"\n{COUNT_ARRAYS} arrays of 8 MiB, put_arrays + get_arrays each (GB/s counts both directions)\n")
    print("| path | arrays | seconds | ops/s | GB/s |")
    print("|---|---|---|---|---|")
    for row in arrays_rows:
        print(row)
    print(f"\nBLAKE3 in Python (numpy path, 1 MiB blocks, verify=True): {hash_mbs} MB/s")


def main():
    print(f"load average at start: {os.getloadavg()}", flush=True)
    ns = nodeproc.Nodes(nodeproc.binary())
    tmp = tempfile.mkdtemp(prefix="emerge-bench-py-")
    try:
        node = ns.start("--replicas", "1", "--shm-bytes", "4GiB")
        b = Bench(node, tmp)
        for i in range(RUNS):
            print(f"run {i + 1}/{RUNS}", flush=True)
            b.run_once()
        rows = [b.arrays_loop(b.local, "shared memory (put_arrays fills the node's memory, get_arrays maps it)"),
                b.arrays_loop(b.stream, "streamed (shm=False)")]
        hash_mbs = b.hash_speed()
        report(b, rows, hash_mbs)
        b.local.close()
        b.stream.close()
    finally:
        ns.cleanup()
        for f in os.listdir(tmp):
            os.remove(os.path.join(tmp, f))
        os.rmdir(tmp)
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
