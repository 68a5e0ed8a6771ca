"""Attached frontends' figures for `python -m benchmarks`: what attaching and the link cost.

    python -m benchmarks.sessions attach SERVERS COMMANDS REPEATS
        a session with SERVERS spawned servers that ran COMMANDS commands, listening; a program of
        another process attaches (`core.attach`) REPEATS times: the median time from connecting
        until its replica is built from the snapshot (the core's part of opening a window on it)
    python -m benchmarks.sessions click ROUNDS
        median round trip of a tiny blocking command to server 1 from a program attached from
        another process (`AttachedClient.push_command_request(block=True)`), beside the same
        through the session's own client, and the window's way (`submit(...).result()`), in turns

Prints one JSON object. The session's process runs the session; the attached programs are
processes of their own, as they would be.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks.measurement import REPO, WARMUP, measure_main, timed_rounds
from core import MPICommandClient
from core.frontends.host import SessionHost
from core.frontends.listener import Listener

TURNS = 3
"""The ways of the click figure are measured in turns, so that a neighbour's load falls on all."""

ATTACH = """
import json, sys, time
from core.frontends.attached import AttachedClient
times = []
for _ in range(int(sys.argv[2])):
    start = time.perf_counter()
    client = AttachedClient(sys.argv[1])
    times.append(time.perf_counter() - start)
    commands = client.read(lambda model: len(model.history))
    client.detach()
print(json.dumps({"seconds": times, "commands": commands}))
"""

CLICKS = """
import json, sys, time
import core
with core.attach(sys.argv[1]) as client:
    push = client.push_command_request
    for _ in range(int(sys.argv[2])):
        push("1", block=True, target_server=1)
    times = []
    for _ in range(int(sys.argv[3])):
        start = time.perf_counter()
        push("1", block=True, target_server=1)
        times.append(time.perf_counter() - start)
print(json.dumps({"times": times}))
"""


def _session(servers: int) -> tuple[MPICommandClient, SessionHost, Listener]:
    client = MPICommandClient(servers=servers, print_output=False, session_log=False)
    client.start_services()
    host = SessionHost(client, info_kind="serve")
    return client, host, Listener(host)


def _end(client: MPICommandClient, host: SessionHost, listener: Listener) -> None:
    host.close()
    listener.close()
    client.stop_services()


def _program(code: str, *args: object) -> dict:
    done = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=600)
    if done.returncode != 0:
        raise RuntimeError((done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1])
    return json.loads(done.stdout.splitlines()[-1])


def attach(servers: int, commands: int, repeats: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="mpipanel-bench-rt-") as runtime:
        os.environ["XDG_RUNTIME_DIR"] = runtime
        client, host, listener = _session(servers)
        try:
            ranks = client.server_ranks()
            ids = [i for index in range(commands)
                   for i in client.push_command_request(f"{index} * 2", target_server=ranks[index % len(ranks)])]
            client.get_command_response(ids, block=True)
            start = time.perf_counter()
            host.model.snapshot()
            snapshot_ms = (time.perf_counter() - start) * 1e3
            attached = _program(ATTACH, host.info.session_id, repeats)
        finally:
            _end(client, host, listener)
    return {"seconds": statistics.median(attached["seconds"]), "max_seconds": max(attached["seconds"]),
            "commands": attached["commands"], "snapshot_ms": snapshot_ms}


def click(rounds: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="mpipanel-bench-rt-") as runtime:
        os.environ["XDG_RUNTIME_DIR"] = runtime
        client, host, listener = _session(1)
        try:
            embedded, window, attached = [], [], []
            chunk = max(1, rounds // TURNS)
            timed_rounds(lambda: client.push_command_request("1", block=True, target_server=1), WARMUP)
            for _ in range(TURNS):
                embedded += timed_rounds(lambda: client.push_command_request("1", block=True, target_server=1), chunk)
                window += timed_rounds(lambda: client.submit("1", target=1).result(), chunk)
                attached += _program(CLICKS, host.info.session_id, min(WARMUP, chunk), chunk)["times"]
        finally:
            _end(client, host, listener)
    return {"attached_us": statistics.median(attached) * 1e6, "embedded_us": statistics.median(embedded) * 1e6,
            "window_us": statistics.median(window) * 1e6}


if __name__ == "__main__":
    measure_main(globals(), sys.argv[1:])
