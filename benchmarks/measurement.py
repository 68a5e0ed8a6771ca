"""One measurement process, from both sides: how the runner starts it and how it answers.

A measurement module (`benchmarks.figures`, `benchmarks.baselines`, `benchmarks.gui`) is run as
`python -m benchmarks.MODULE FUNCTION ARGS...`, calls FUNCTION with ARGS and prints one JSON
object as its last line; `{"error": ...}` and `{"skipped": ...}` stand for a figure not measured.
A process per figure means that MPI starts fresh each time and one figure cannot disturb another.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
"""The directory holding this `benchmarks` package (under `--compare`, a copy of it on its own)."""
CHILD_TIMEOUT = 900
WARMUP = 200

FLOOD = """
import time
start = time.monotonic()
line = 0
while time.monotonic() - start < {seconds}:
    for _ in range({per_tick}):
        print('flood line', line)
        line += 1
    time.sleep(max(0.0, start + line / {rate} - time.monotonic()))
"""


def flood_command(seconds: float, rate: int) -> str:
    """A command that prints `rate` numbered lines a second ('flood line N') for `seconds`; its
    server's `line` then says how many it printed."""
    return FLOOD.format(seconds=seconds, rate=rate, per_tick=max(1, rate // 1000))


def run_child(module: str, *args: object, mpiexec: int = 0) -> dict:
    """Run `python -m benchmarks.MODULE ARGS...` (under `mpiexec -n N` if asked) and return the
    JSON it printed, or {'error': ...}."""
    command = [sys.executable, "-m", f"benchmarks.{module}", *map(str, args)]
    if mpiexec:
        command = [launcher(), "-n", str(mpiexec), *command]
    env = {**os.environ, "PYTHONPATH": python_path()}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=CHILD_TIMEOUT, env=env,
                              start_new_session=True)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {CHILD_TIMEOUT} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"error": (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]}
    return json.loads(lines[-1])


def python_path() -> str:
    """PYTHONPATH for a measurement process: this `benchmarks` first, then what this process was
    given, which is where `--compare` puts the `core` under test (else `core` is REPO's)."""
    return os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))


def core_under_test() -> str:
    """The tree whose `core` the measurement processes import (they start on this process's path)."""
    spec = importlib.util.find_spec("core")
    return str(Path(spec.origin).resolve().parent.parent) if spec and spec.origin else ""


def timed_rounds(send, rounds: int) -> list[float]:
    """Seconds each of `rounds` calls of `send()` took."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        send()
        times.append(time.perf_counter() - start)
    return times


def launcher() -> str:
    """The `mpiexec` of this Python's MPI wheel, else the one on PATH."""
    beside = Path(sys.executable).with_name("mpiexec")
    return str(beside if beside.exists() else "mpiexec")


def arguments(args: list[str]) -> list:
    """Command-line words as the measurement functions take them: ints, floats, else text (words, paths)."""
    return [_argument(a) for a in args]


def _argument(word: str) -> int | float | str:
    for kind in (int, float):
        try:
            return kind(word)
        except ValueError:
            continue
    return word


def measure_main(namespace: dict, argv: list[str]) -> None:
    """The `__main__` of a measurement module: call the function named by argv[0] in `namespace`
    and print what it returns (an MPI rank other than 0 returns {} and prints nothing)."""
    name, *args = argv
    result = namespace[name](*arguments(args))
    if result:
        print(json.dumps(result), flush=True)


def idle_cpu(pids: dict[str, int], seconds: float) -> dict[str, float]:
    """CPU % of each process over `seconds`, measured from outside while this one sleeps."""
    processes = {name: psutil.Process(pid) for name, pid in pids.items()}
    before = {name: sum(p.cpu_times()[:2]) for name, p in processes.items()}
    time.sleep(seconds)
    return {name: (sum(p.cpu_times()[:2]) - before[name]) / seconds * 100 for name, p in processes.items()}
