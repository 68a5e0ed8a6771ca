"""The observers `tools/command_profile.py` attaches to each process of a session for its window:
`perf stat` (system calls), `perf record` (on-CPU samples by library and symbol) and `py-spy`
(samples by Python function). Each is started attached, switched on for the window, halted, and
only then read: reading a result starts processes, which an observer still running would see."""
from __future__ import annotations

import collections
import os
import queue
import re
import select
import signal
import subprocess
import threading
import time
from pathlib import Path

OBSERVER_START = 30.0
"""Seconds an observer may take to attach to a process before the session gives up."""
PY_SPY_RATE = 400
"""Samples per second and process: enough for 1 µs-per-command resolution over a few seconds."""
PERF_RATE = 1999


class ControlledPerf:
    """A `perf` command attached to one process (all its threads), started disabled and switched
    on and off through its control FIFOs, each switch acknowledged, so that it sees the window and
    nothing else. perf reads the kernel's counters and samples: the process is never stopped, as
    strace stops it at every system call (under strace the rank never spun: what was measured
    changed)."""

    def __init__(self, pid: int, directory: Path, command: list[str]):
        control, ack = directory / f"perf-{pid}.control", directory / f"perf-{pid}.ack"
        os.mkfifo(control)
        os.mkfifo(ack)
        self.process = subprocess.Popen([*command, "-D", "-1", "--control", f"fifo:{control},{ack}",
                                         "-p", str(pid)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.ack = os.open(ack, os.O_RDONLY | os.O_NONBLOCK)
        self.control = self._open_for_writing(control)

    def _open_for_writing(self, fifo: Path) -> int:
        """The FIFO's write end, once perf has opened its read end (it is attached by then)."""
        deadline = time.monotonic() + OBSERVER_START
        while True:
            try:
                return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: no reader yet
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"perf did not start: {self.process.stderr.read().strip()}") from None
                time.sleep(0.01)

    def enable(self) -> None:
        self._say("enable")

    def halt(self) -> None:
        self._say("disable")
        self.process.send_signal(signal.SIGINT)
        self.process.communicate(timeout=60)
        os.close(self.control)
        os.close(self.ack)

    def _say(self, word: str) -> None:
        os.write(self.control, f"{word}\n".encode())
        deadline = time.monotonic() + OBSERVER_START
        answer = b""
        while b"ack" not in answer:
            if not select.select([self.ack], [], [], max(0.0, deadline - time.monotonic()))[0]:
                raise TimeoutError(f"perf did not acknowledge '{word}'")
            answer += os.read(self.ack, 64)


class PerfStat(ControlledPerf):
    """`perf stat`: system calls by name (tracepoints), context switches, CPU migrations."""

    EVENTS = "task-clock,context-switches,cpu-migrations,raw_syscalls:sys_enter,syscalls:sys_enter_*"

    def __init__(self, pid: int, directory: Path):
        self.output = directory / f"perf-stat-{pid}.csv"
        super().__init__(pid, directory, ["perf", "stat", "-x,", "-o", str(self.output), "-e", self.EVENTS])

    def stop(self) -> dict:
        counted = {}
        for line in self.output.read_text().splitlines():
            fields = line.split(",")
            if len(fields) > 2 and fields[0].replace(".", "").isdigit():
                counted[fields[2]] = float(fields[0])
        syscalls = {event.removeprefix("syscalls:sys_enter_"): n for event, n in counted.items()
                    if event.startswith("syscalls:") and n}
        return {"syscalls": syscalls, "context switches": counted.get("context-switches", 0),
                "cpu migrations": counted.get("cpu-migrations", 0)}


class PerfRecord(ControlledPerf):
    """`perf record`: on-CPU samples by shared object and symbol, the kernel's included (a sample
    is taken only while the process runs: time waiting for a core is not in it)."""

    def __init__(self, pid: int, directory: Path):
        self.output = directory / f"perf-{pid}.data"
        super().__init__(pid, directory, ["perf", "record", "-F", str(PERF_RATE), "-o", str(self.output)])

    def stop(self) -> dict:
        return {"samples": self._report("dso")[0], "libraries": self._report("dso")[1],
                "symbols": self._report("dso,sym")[1]}

    def _report(self, keys: str) -> tuple[int, dict[str, float]]:
        text = subprocess.run(["perf", "report", "-i", str(self.output), "--stdio", "--no-children", "-g", "none",
                               "--sort", keys, "--percent-limit", "0.3"], capture_output=True, text=True).stdout
        # perf writes large counts as 5K; a dummy event has a few samples of its own
        samples = max((int(n) * {"": 1, "K": 1000, "M": 1000_000}[unit]
                       for n, unit in re.findall(r"^# Samples: (\d+)([KM]?)", text, re.M)), default=0)
        shares = {}
        for line in text.splitlines():
            if match := re.match(r"\s+([\d.]+)%\s+(.*\S)", line):
                shares[re.sub(r"\s+", " ", match.group(2))] = float(match.group(1)) / 100
        return samples, shares


class PySpy:
    """`py-spy record` on one process: on-CPU samples of all its threads, as collapsed stacks."""

    def __init__(self, pid: int, directory: Path):
        self.output = directory / f"py-spy-{pid}.txt"
        self.process = subprocess.Popen(["py-spy", "record", "--nonblocking", "-r", str(PY_SPY_RATE), "-F",
                                         "-f", "raw", "-o", str(self.output), "-p", str(pid)],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        _wait_for_line(self.process, "Sampling process")

    def enable(self) -> None:
        """It samples from the start: the window is the time between its start and its halt."""

    def halt(self) -> None:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=60)

    def stop(self) -> dict:
        return _py_spy_functions(self.output.read_text() if self.output.exists() else "")


OBSERVERS = {"none": None, "perf": PerfStat, "perf-record": PerfRecord, "py-spy": PySpy}


class Observers:
    """One observer of a kind (`OBSERVERS`) on each process of the session, for the window."""

    def __init__(self, kind: str, pids: dict[str, int], directory: Path):
        self.kind, self.pids, self.directory = OBSERVERS[kind], pids, directory
        self.running: dict[str, PerfStat | PySpy] = {}
        self.results: dict[str, dict] = {}

    def __enter__(self) -> Observers:
        if self.kind is not None:
            # The client last: an observer of it started earlier would also see the later ones start.
            for name in sorted(self.pids, key=lambda name: name == "client"):
                self.running[name] = self.kind(self.pids[name], self.directory)
            for observer in self.running.values():
                observer.enable()
        return self

    def __exit__(self, *exc) -> None:
        for observer in self.running.values():  # all of them first: reading the results starts processes
            observer.halt()
        self.results = {name: observer.stop() for name, observer in self.running.items()}


def _wait_for_line(process: subprocess.Popen, marker: str) -> None:
    """Until the observer says it has attached; its further output is drained and dropped."""
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    deadline = time.monotonic() + OBSERVER_START
    while True:
        try:
            if marker in lines.get(timeout=max(0.0, deadline - time.monotonic())):
                return
        except queue.Empty:
            process.kill()
            raise TimeoutError(f"{process.args[0]} did not attach within {OBSERVER_START:g} s") from None


def _py_spy_functions(text: str) -> dict:
    """py-spy's raw stacks: the share of samples in which each function was the innermost."""
    own, samples = collections.Counter(), 0
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [frame for frame in stack.split(";") if "(" in frame]
        if frames:
            samples += int(count)
            own[frames[-1]] += int(count)
    return {"samples": samples, "self": {f: n / samples for f, n in own.items()}}
