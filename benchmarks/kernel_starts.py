"""Kernels started at the same moment by two processes, over TCP and over IPC: how many die.

`make test` runs two pytest-xdist workers that each start Jupyter kernels. Over TCP, jupyter_client picks a
kernel's five ports by binding port 0 and closing the socket; the kernel binds them again a second later, and
anything that takes such a port in between (the other worker's kernel, an outgoing connection's ephemeral port)
kills the kernel ("ZMQError: Address already in use"). tests/conftest.py therefore starts test kernels over IPC
(Unix sockets in a folder of their own). This script starts kernels in two processes at once, each process also
opening outgoing localhost connections the whole time (what a browser test or a server does), and counts the
kernels that did not answer, per transport. It writes part F of RESULTS.md with ``--write-results``.

    .venv/bin/python benchmarks/kernel_starts.py --starts 40 --write-results
"""

from __future__ import annotations

import argparse
import multiprocessing
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_file import replace_section  # noqa: E402

HEADING = "## F. Test kernels started at once by two processes"


def _outgoing_connections(stop: threading.Event) -> None:
    """Open and close localhost connections without pause: each takes an ephemeral port for a moment."""
    server = socket.create_server(("127.0.0.1", 0))
    server.listen(128)
    address = server.getsockname()
    threading.Thread(target=lambda: [server.accept()[0].close() for _ in iter(int, 1)], daemon=True).start()
    while not stop.is_set():
        try:
            socket.create_connection(address, timeout=1).close()
        except OSError:
            pass  # the listener's backlog was full: try again


def _start_kernels(transport: str, starts: int, barrier, results) -> None:
    from jupyter_client.manager import KernelManager

    stop = threading.Event()
    threading.Thread(target=_outgoing_connections, args=(stop,), daemon=True).start()
    sockets = Path(tempfile.mkdtemp(prefix="kernels-"))
    barrier.wait()
    failures, seconds = [], []
    for index in range(starts):
        if transport == "ipc":
            km = KernelManager(kernel_name="python3", transport="ipc", ip=str(sockets / f"k{index}"))
        else:
            km = KernelManager(kernel_name="python3")
        began = time.perf_counter()
        try:
            km.start_kernel()
            client = km.client()
            client.start_channels()
            client.wait_for_ready(timeout=60)
            client.stop_channels()
            seconds.append(time.perf_counter() - began)
        except RuntimeError as error:  # "Kernel died before replying to kernel_info"
            failures.append(str(error).splitlines()[0][:120])
        finally:
            km.shutdown_kernel(now=True)
    stop.set()
    results.put({"failures": failures, "seconds": seconds})


def measure(transport: str, starts: int) -> dict:
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_start_kernels, args=(transport, starts, barrier, results)) for _ in range(2)]
    for worker in workers:
        worker.start()
    parts = [results.get(timeout=3600) for _ in workers]
    for worker in workers:
        worker.join()
    seconds = sorted(s for part in parts for s in part["seconds"])
    return {"transport": transport, "starts": 2 * starts, "failed": sum(len(p["failures"]) for p in parts),
            "median_s": seconds[len(seconds) // 2] if seconds else float("nan"),
            "examples": [f for p in parts for f in p["failures"]][:2]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=40, help="kernels per process and transport")
    parser.add_argument("--write-results", action="store_true", help="write part F of benchmarks/RESULTS.md")
    args = parser.parse_args()
    rows = [measure(transport, args.starts) for transport in ("tcp", "ipc")]
    lines = [HEADING, "",
             f"`benchmarks/kernel_starts.py --starts {args.starts}`: two processes start kernels one after another, "
             "at the same time, each also opening outgoing localhost connections throughout; a start fails when "
             "the kernel does not answer within 60 s. Measured on the 2-core machine "
             f"({time.strftime('%Y-%m-%d')}).", "",
             "| transport | kernel starts | failed | median start to ready |", "|---|---:|---:|---:|"]
    lines += [f"| {r['transport']} | {r['starts']} | {r['failed']} | {r['median_s']:.2f} s |" for r in rows]
    lines += ["", "Over TCP a port is picked free and bound later, so a collision is a matter of chance (CI saw one "
              "in a fresh-clone run); over IPC each kernel's sockets are files in a folder of its own, which no other "
              "process can take: the suite's kernels use IPC (tests/conftest.py, tests/browser/jupyterlab_driver.py)."]
    print("\n".join(lines))
    for row in rows:
        for example in row["examples"]:
            print(f"  {row['transport']} failure: {example}")
    if args.write_results:
        replace_section(HEADING, lines)


if __name__ == "__main__":
    main()
