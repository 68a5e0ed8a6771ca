"""mpipanel's own figures for `python -m benchmarks`, one per process, printed as JSON.

    python -m benchmarks.figures rtt ISOLATION ROUNDS
    python -m benchmarks.figures idle_rtt ISOLATION SAMPLES
    python -m benchmarks.figures throughput SERVERS COUNT ISOLATION
    python -m benchmarks.figures big_result BYTES
    python -m benchmarks.figures idle SERVERS SECONDS
    python -m benchmarks.figures startup SERVERS
    python -m benchmarks.figures scale SERVERS ROUNDS
    python -m benchmarks.figures size_rtt BYTES ROUNDS
    python -m benchmarks.figures progress_call CALLS
    python -m benchmarks.figures stacks SERVERS ROUNDS

Every client here runs without its session log, which costs a JSON line per event.
"""
from __future__ import annotations

import statistics
import sys
import time

import psutil

from benchmarks.measurement import WARMUP, idle_cpu, measure_main
from core import MPICommandClient


def _client(servers: int, isolation: str = "process") -> MPICommandClient:
    client = MPICommandClient(servers=servers, isolation=isolation, print_output=False, session_log=False)
    client.start_services()
    return client


def _rtt_us(client: MPICommandClient, rounds: int, target=1, parameters=None) -> float:
    push = client.push_command_request
    for _ in range(min(WARMUP, rounds)):
        push("1", block=True, target_server=target, parameters=parameters)
    start = time.perf_counter()
    for _ in range(rounds):
        push("1", block=True, target_server=target, parameters=parameters)
    return (time.perf_counter() - start) / rounds * 1e6


def rtt(isolation: str, rounds: int) -> dict:
    with _client(1, isolation) as client:
        return {"rtt_us": _rtt_us(client, rounds)}


def idle_rtt(isolation: str, samples: int) -> dict:
    """Round trip of a command sent after the server sat idle for a second."""
    with _client(1, isolation) as client:
        _rtt_us(client, 100)
        times = []
        for _ in range(samples):
            time.sleep(1.0)
            start = time.perf_counter()
            client.push_command_request("1", block=True, target_server=1)
            times.append((time.perf_counter() - start) * 1e3)
        return {"ms": statistics.median(times), "max_ms": max(times)}


def _session_processes(client: MPICommandClient) -> dict[str, psutil.Process]:
    """The client's process and every server's rank and worker process."""
    processes = {"client": psutil.Process()}
    for rank, status in client.get_server_status().items():
        processes[f"server {rank}"] = psutil.Process(status["pid"])
        if status["worker_pid"]:
            processes[f"worker {rank}"] = psutil.Process(status["worker_pid"])
    return processes


def _cpu_seconds(processes: dict[str, psutil.Process]) -> float:
    return sum(sum(process.cpu_times()[:2]) for process in processes.values())


def throughput(servers: int, count: int, isolation: str) -> dict:
    """Commands per second, and the CPU time they cost in all the session's processes."""
    with _client(servers, isolation) as client:
        client.get_command_response([client.push_command_request("1") for _ in range(servers * 50)], block=True)
        processes = _session_processes(client)
        cpu = _cpu_seconds(processes)
        start = time.perf_counter()
        ids = [client.push_command_request("1") for _ in range(count)]
        client.get_command_response(ids, block=True)
        seconds = time.perf_counter() - start
        return {"per_s": count / seconds, "cpu_us_per_command": (_cpu_seconds(processes) - cpu) / count * 1e6}


def big_result(size: int, repeats: int = 5) -> dict:
    with _client(1) as client:
        client.push_command_request(f"import numpy as np; big = np.ones({size}, dtype=np.uint8)",
                                    block=True, target_server=1)
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            [response] = client.push_command_request("big", block=True, target_server=1)
            seconds.append(time.perf_counter() - start)
            assert response["ret"].nbytes == size
            del response
        return {"mb_per_s": size / statistics.median(seconds) / 1e6, "best_mb_per_s": size / min(seconds) / 1e6}


def idle(servers: int, seconds: float) -> dict:
    with _client(servers) as client:
        client.push_command_request("1", block=True, target_server=client.server_ranks())
        time.sleep(1.0)  # let the hot-poll windows after that command run out
        pids = {name: process.pid for name, process in _session_processes(client).items()}
        return {"cpu_percent": idle_cpu(pids, seconds)}


def startup(servers: int) -> dict:
    start = time.perf_counter()
    client = _client(servers)
    seconds = time.perf_counter() - start
    client.stop_services()
    return {"seconds": seconds}


def scale(servers: int, rounds: int) -> dict:
    """Round trips with many (oversubscribed) servers: to one server, and to each in turn."""
    with _client(servers) as client:
        one = _rtt_us(client, rounds)
        start = time.perf_counter()
        for index in range(rounds):
            client.push_command_request("1", block=True, target_server=1 + index % servers)
        return {"one_us": one, "round_robin_us": (time.perf_counter() - start) / rounds * 1e6}


def size_rtt(size: int, rounds: int) -> dict:
    """Round trip of a command whose parameter and result are `size` bytes."""
    payload = bytes(size)
    with _client(1) as client:
        client.push_command_request("1", block=True)
        start = time.perf_counter()
        for _ in range(rounds):
            client.push_command_request("data", block=True, target_server=1, parameters={"data": payload})
        return {"rtt_us": (time.perf_counter() - start) / rounds * 1e6}


PROGRESS_LOOP = """\
import time
def calls(report, n):
    start = time.perf_counter()
    for i in range(n):
        report(i, n, 'step')
    return time.perf_counter() - start
def nothing(done, total, text=''):
    pass
(calls(progress, {n}), calls(nothing, {n}))
"""


def progress_call(calls: int) -> dict:
    """The cost of `progress()` in a tight loop, in a server's worker, where commands call it; a
    call of a Python function that does nothing, in the same loop, is the floor beside it."""
    with _client(1) as client:
        [response] = client.push_command_request(PROGRESS_LOOP.format(n=calls), block=True, target_server=1)
        progress, nothing = response["ret"]
        return {"call_us": progress / calls * 1e6, "nothing_us": nothing / calls * 1e6}


STUCK = "import time\ndef wait_for(seconds):\n    time.sleep(seconds)\ndef flagdata():\n    wait_for(600)\nflagdata()"


def stacks(servers: int, rounds: int) -> dict:
    """`stacks()` of `servers` busy servers, request to answer: every worker's stack read from its
    faulthandler dump. The median and the longest of `rounds`."""
    with _client(servers) as client:
        ids = client.push_command_request(STUCK, target_server=client.server_ranks())
        while not all(report.threads for report in client.stacks().result(30).values()):
            time.sleep(0.1)
        seconds = []
        for _ in range(rounds):
            start = time.perf_counter()
            reports = client.stacks().result(30)
            seconds.append(time.perf_counter() - start)
            assert len(reports) == servers and all(report.threads for report in reports.values())
        client.interrupt(ids)
        client.get_command_response(ids, block=True)
        return {"median_ms": statistics.median(seconds) * 1e3, "max_ms": max(seconds) * 1e3}


if __name__ == "__main__":
    measure_main(globals(), sys.argv[1:])
