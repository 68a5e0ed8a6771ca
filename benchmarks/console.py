"""The client-side worker's figure for `python -m benchmarks`: what the proxy costs per command.

    python -m benchmarks.console proxy_rtt ROUNDS
        median round trip of a tiny blocking command to server 1 pushed by client code running in
        rank 0's client-side worker (worker -> rank 0's client -> server and back), beside the same
        command sent from rank 0 itself, as the window sends it (`submit(...).result()`) and as a
        script does (`push_command_request(block=True)`), in the same session

Prints one JSON object.
"""
from __future__ import annotations

import statistics
import sys

from benchmarks.measurement import measure_main, timed_rounds
from core import MPICommandClient
from core.console.host import ConsoleHost

CHUNKS = 10
"""The three ways are measured in turns, a tenth of the rounds at a time, so that a neighbour's load
on the shared cores falls on all of them alike."""

PROXIED = """
import time
from core import MPICommandClient
client = MPICommandClient()
times = globals().setdefault('times', [])
for _ in range({rounds}):
    start = time.perf_counter()
    client.push_command_request('1', block=True, target_server=1)
    times.append(time.perf_counter() - start)
"""


def _median_us(times: list[float]) -> float:
    return statistics.median(times) * 1e6


def proxy_rtt(rounds: int) -> dict:
    client = MPICommandClient(servers=1, print_output=False, session_log=False)
    client.start_services()
    console = ConsoleHost(client)
    window, script = [], []
    chunk = max(1, rounds // CHUNKS)
    for turn in range(CHUNKS + 1):  # the first turn warms up, and is dropped
        if turn == 1:
            window.clear(), script.clear()
            console.run("times.clear()").result()
        window += timed_rounds(lambda: client.submit("1", target=1).result(), chunk)
        script += timed_rounds(lambda: client.push_command_request("1", block=True, target_server=1), chunk)
        proxied = console.run(PROXIED.format(rounds=chunk)).result()
        if not proxied["successful"]:
            break
    else:
        proxied = console.run("sorted(times)[len(times) // 2] * 1e6").result()
    console.close()
    client.stop_services()
    if not proxied["successful"]:
        return {"error": proxied["traceback"].strip().splitlines()[-1]}
    return {"proxy_us": proxied["ret"], "window_us": _median_us(window), "script_us": _median_us(script)}


if __name__ == "__main__":
    measure_main(globals(), sys.argv[1:])
