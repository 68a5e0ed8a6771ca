"""What a worker's threads do, as the kernel sees them: whether any is runnable, and the CPU each used.

A worker's stacks are read from a signal handler only while the GIL is held by C code: then no
Python frame moves. Read so while Python runs, they crashed the worker (SIGSEGV). From outside,
the two look alike at first: the dump taken with the GIL is late in both (late because the GIL does
not change hands, or because the machine is too busy to run the thread that waits for it). What
tells them apart is what the threads did meanwhile:
- all of them asleep and nearly idle: the GIL's holder waits in C (a blocking call that kept the
  GIL); Python that ran would be runnable, and would have let the waiting thread in;
- one of them busy on a CPU for a long while, and still no dump: the holder computes in C without
  letting the GIL go. (Python computing would have let it go within the switch interval; only a
  waiting thread that the kernel did not run for that long tells otherwise, which is why this
  reading is taken only after a patient wait.)
Read from `/proc`, so Linux only; elsewhere nothing is known, and nothing is read by force.
"""
from __future__ import annotations

import os
import time
from typing import NamedTuple

TICK = 1.0 / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 0.01
"""Seconds per clock tick, the unit of the kernel's CPU times."""
ASLEEP_CPU_SHARE = 0.1
"""Under this share of one CPU, together, the threads count as asleep (those that wait for the GIL
wake every switch interval, for microseconds)."""
COMPUTING_CPU_SHARE = 0.25
"""Over this share of one CPU, one thread counts as computing."""


class ThreadTimes(NamedTuple):
    """The kernel's view of one process's threads at one time."""

    taken_at: float
    runnable: int
    """Threads running or waiting for a CPU (state R)."""
    cpu: dict[int, float]
    """Seconds of CPU each thread (by id) has used so far."""


def sample(pid: int) -> ThreadTimes | None:
    """The threads of process `pid` now; None where the kernel does not say (not Linux, or gone)."""
    taken_at = time.monotonic()
    runnable, cpu = 0, {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the thread ended meanwhile
        # after the command's name: state is field 3 of stat(5), utime and stime fields 14 and 15
        runnable += fields[0] == b"R"
        cpu[int(tid)] = (int(fields[11]) + int(fields[12])) * TICK
    return ThreadTimes(taken_at, runnable, cpu)


def _cpu_used(before: ThreadTimes, after: ThreadTimes) -> dict[int, float]:
    return {tid: seconds - before.cpu.get(tid, 0.0) for tid, seconds in after.cpu.items()}


def asleep(before: ThreadTimes | None, after: ThreadTimes | None) -> bool:
    """No thread runnable now, and all of them together nearly idle since `before`."""
    if before is None or after is None:
        return False
    elapsed = max(after.taken_at - before.taken_at, TICK)
    return after.runnable == 0 and sum(_cpu_used(before, after).values()) < ASLEEP_CPU_SHARE * elapsed + TICK


def computing(before: ThreadTimes | None, after: ThreadTimes | None) -> bool:
    """One thread busy on a CPU for most of the time since `before`."""
    if before is None or after is None:
        return False
    elapsed = max(after.taken_at - before.taken_at, TICK)
    return max(_cpu_used(before, after).values(), default=0.0) > COMPUTING_CPU_SHARE * elapsed
