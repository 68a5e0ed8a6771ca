"""The notebook's figures for `python -m benchmarks`: a tiny `%%px` cell in a real Jupyter kernel.

    python -m benchmarks.jupyter mpipanel_px SERVERS ROUNDS ISOLATION
        mpipanel's `%%px` on SERVERS spawned servers (`%load_ext core.jupyter`), isolation
        'process' or 'none' (ipyparallel's engines run code in the process that talks to the
        controller, as 'none' does)
    python -m benchmarks.jupyter ipyparallel_px ENGINES ROUNDS
        ipyparallel's `%%px` on a local cluster of ENGINES engines (needs mpipanel[bench])

Each starts its own kernel (the two `%%px` magics cannot share one) and times, from the
execute_request sent to its execute_reply, a cell that only assigns (`x = 1`) and a cell that
shows each server's value (`x`), and a plain `x = 1` that the kernel runs itself, median of
ROUNDS each, in turns. Prints one JSON object.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time

from benchmarks.measurement import measure_main

CELLS = {"plain_ms": "x = 1", "statement_ms": "%%px\nx = 1", "value_ms": "%%px\nx"}
"""`plain_ms`, a cell the kernel runs itself, is what any cell costs: the floor under both `%%px`."""
SETUP_TIMEOUT = 300
NOT_INSTALLED = {"skipped": "not measured: install mpipanel[bench]"}


def mpipanel_px(servers: int, rounds: int, isolation: str) -> dict:
    return _timed_cells(["%load_ext core.jupyter", f"%mpipanel start -n {servers} --isolation {isolation}"],
                        ["%mpipanel stop"], rounds)


def ipyparallel_px(engines: int, rounds: int) -> dict:
    """The view blocks, as mpipanel's `%%px` does: a Client's views default to not blocking,
    and their `%%px` then returns before the engines have run the cell."""
    try:
        import ipyparallel  # noqa: F401 - is it there
    except ImportError:
        return NOT_INSTALLED
    start = ("import ipyparallel\n"
             f"cluster = ipyparallel.Cluster(n={engines}, log_level=40)\n"
             "engines = cluster.start_and_connect_sync()\n"
             f"engines.wait_for_engines({engines})\n"
             "view = engines[:]\n"
             "view.block = True\n"
             "view.activate()")
    return _timed_cells([start], ["cluster.stop_cluster_sync()"], rounds)


def _timed_cells(setup: list[str], teardown: list[str], rounds: int) -> dict:
    from jupyter_client.manager import start_new_kernel
    with tempfile.TemporaryDirectory(prefix="mpipanel-bench-jupyter-") as state:
        manager, client = start_new_kernel(env={**os.environ, "MPIPANEL_STATE_DIR": state})
        try:
            for code in setup:
                _execute(client, code, SETUP_TIMEOUT)
            times: dict[str, list[float]] = {name: [] for name in CELLS}
            for turn in range(rounds + 1):  # the first turn warms up, and is dropped
                for name, code in CELLS.items():
                    elapsed = _execute(client, code, 60)
                    if turn:
                        times[name].append(elapsed)
            for code in teardown:
                _execute(client, code, SETUP_TIMEOUT)
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=False)
    return {name: statistics.median(seconds) * 1e3 for name, seconds in times.items()}


def _execute(client, code: str, timeout: float) -> float:
    """Run a cell; seconds from the request to its reply. Raises if the cell failed."""
    started = time.perf_counter()
    reply = client.execute(code, reply=True, timeout=timeout)
    elapsed = time.perf_counter() - started
    content = reply["content"]
    if content["status"] != "ok":
        raise RuntimeError(f"the cell {code.splitlines()[0]!r} failed: {content.get('ename')}: {content.get('evalue')}")
    while client.iopub_channel.msg_ready():  # outputs are not looked at; keep the queue short
        client.get_iopub_msg(timeout=0)
    return elapsed


if __name__ == "__main__":
    measure_main(globals(), sys.argv[1:])
