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
import time

from benchmarks.measurement import WARMUP, measure_main
from core import MPICommandClient
from core.console.host import ConsoleHost

PROXIED = """
import statistics, time
from core import MPICommandClient
client = MPICommandClient()
times = []
for _ in range({rounds}):
    start = time.perf_counter()
    client.push_command_request('1', block=True, target_server=1)
    times.append(time.perf_counter() - start)
median_us = statistics.median(times[{warmup}:]) * 1e6
"""


def _median_us(send, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        send()
        times.append(time.perf_counter() - start)
    return statistics.median(times[WARMUP:]) * 1e6


def proxy_rtt(rounds: int) -> dict:
    client = MPICommandClient(servers=1, print_output=False, session_log=False)
    client.start_services()
    console = ConsoleHost(client)
    rounds += WARMUP
    window = _median_us(lambda: client.submit("1", target=1).result(), rounds)
    script = _median_us(lambda: client.push_command_request("1", block=True, target_server=1), rounds)
    proxied = console.run(PROXIED.format(rounds=rounds, warmup=WARMUP)).result()
    if proxied["successful"]:
        proxied = console.run("median_us").result()
    console.close()
    client.stop_services()
    if not proxied["successful"]:
        return {"error": proxied["traceback"].strip().splitlines()[-1]}
    return {"proxy_us": proxied["ret"], "window_us": window, "script_us": script}


if __name__ == "__main__":
    measure_main(globals(), sys.argv[1:])
