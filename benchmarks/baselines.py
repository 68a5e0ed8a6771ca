"""The baselines `python -m benchmarks` measures in the same run as mpipanel's own figures.

Each baseline runs as its own process (MPI is initialised once per process, and mpi4py.futures
must not share one with our client) and prints one JSON object:

    mpiexec -n 2 python -m benchmarks.baselines pingpong      raw pickled send/recv round trip
    mpiexec -n 2 python -m benchmarks.baselines buffer BYTES discard|keep  raw Send/Recv bandwidth, fresh buffers
    python -m benchmarks.baselines futures_rtt WORKERS        MPIPoolExecutor submit().result()
    python -m benchmarks.baselines futures_throughput WORKERS COUNT
    python -m benchmarks.baselines futures_startup WORKERS    pool start until every worker answered
    python -m benchmarks.baselines futures_idle WORKERS SECONDS   idle CPU of client and workers
    python -m benchmarks.baselines ipyparallel_throughput ENGINES COUNT   needs mpipanel[bench]
"""
from __future__ import annotations

import os
import statistics
import sys
import time

from benchmarks.measurement import WARMUP, idle_cpu, measure_main

PINGPONG_ROUNDS = 20_000
RTT_ROUNDS = 2_000
NOT_INSTALLED = {"skipped": "not measured: install mpipanel[bench]"}


def _tiny(_=None):
    return 1


def _pid(_=None):
    return os.getpid()


def pingpong() -> dict:
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    message = {"id": 1, "command": "1", "parameters": None}
    if comm.Get_rank() == 1:
        for _ in range(WARMUP + PINGPONG_ROUNDS):
            comm.send(comm.recv(source=0), dest=0)
        return {}
    for _ in range(WARMUP):
        comm.send(message, dest=1)
        comm.recv(source=1)
    start = time.perf_counter()
    for _ in range(PINGPONG_ROUNDS):
        comm.send(message, dest=1)
        comm.recv(source=1)
    return {"rtt_us": (time.perf_counter() - start) / PINGPONG_ROUNDS * 1e6}


def buffer(size: int, keep: str = "discard", repeats: int = 5) -> dict:
    """Rank 1 sends an existing array; rank 0 receives into a freshly allocated one each time,
    as a client receiving a new result must, and drops it or (`keep`) keeps it, as a client
    that keeps its responses does. On the reference VM keeping a few hundred MB makes every
    later receive several times slower."""
    import numpy as np
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    if comm.Get_rank() == 1:
        array = np.ones(size, dtype=np.uint8)
        for _ in range(repeats):
            comm.recv(source=0)
            comm.Send(array, dest=0)
        return {}
    seconds, kept = [], []
    for _ in range(repeats):
        received = np.empty(size, dtype=np.uint8)
        start = time.perf_counter()
        comm.send("go", dest=1)
        comm.Recv(received, source=1)
        seconds.append(time.perf_counter() - start)
        if keep == "keep":
            kept.append(received)
    return {"mb_per_s": size / statistics.median(seconds) / 1e6}


def futures_rtt(workers: int) -> dict:
    from mpi4py.futures import MPIPoolExecutor
    with MPIPoolExecutor(max_workers=workers) as pool:
        for _ in range(WARMUP):
            pool.submit(_tiny).result()
        start = time.perf_counter()
        for _ in range(RTT_ROUNDS):
            pool.submit(_tiny).result()
        return {"rtt_us": (time.perf_counter() - start) / RTT_ROUNDS * 1e6}


def futures_throughput(workers: int, count: int) -> dict:
    from mpi4py.futures import MPIPoolExecutor
    with MPIPoolExecutor(max_workers=workers) as pool:
        [f.result() for f in [pool.submit(_tiny) for _ in range(workers * 10)]]
        start = time.perf_counter()
        futures = [pool.submit(_tiny) for _ in range(count)]
        for future in futures:
            future.result()
        return {"per_s": count / (time.perf_counter() - start)}


def futures_startup(workers: int) -> dict:
    from mpi4py.futures import MPIPoolExecutor
    start = time.perf_counter()
    pool = MPIPoolExecutor(max_workers=workers)
    pids = set()
    while len(pids) < workers:  # until every worker has answered
        pids.update(pool.map(_pid, range(workers * 4)))
    seconds = time.perf_counter() - start
    pool.shutdown()
    return {"seconds": seconds}


def futures_idle(workers: int, seconds: float) -> dict:
    from mpi4py.futures import MPIPoolExecutor
    with MPIPoolExecutor(max_workers=workers) as pool:
        pids = set()
        while len(pids) < workers:
            pids.update(pool.map(_pid, range(workers * 4)))
        return {"cpu_percent": idle_cpu({"client": os.getpid(), **{f"worker {i}": p for i, p in enumerate(pids)}},
                                        seconds)}


def ipyparallel_throughput(engines: int, count: int) -> dict:
    try:
        import ipyparallel
    except ImportError:
        return NOT_INSTALLED
    with ipyparallel.Cluster(n=engines, log_level=40) as client:
        view = client.load_balanced_view()
        view.map_sync(_tiny, range(engines * 4))
        start = time.perf_counter()
        results = [view.apply_async(_tiny) for _ in range(count)]
        for result in results:
            result.get()
        return {"per_s": count / (time.perf_counter() - start)}


if __name__ == "__main__":
    measure_main(globals(), sys.argv[1:])
