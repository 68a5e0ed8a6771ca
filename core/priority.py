"""Lowering the CPU priority of a server and its worker, for the scheduler as it is configured.

MPICH's launcher starts each rank in a session of its own, and each worker starts one more. Where
the kernel schedules sessions as groups (autogroup, the default on desktops), every session gets
an equal share of the CPU whatever its processes' nice values: 32 servers took 32/33 of the
machine from the GUI's session. So a lowered process lowers its session's group as well.
"""
from __future__ import annotations

import os


def lower(nice: int) -> None:
    """Add `nice` to this process's niceness (children inherit it) and to its session's group."""
    os.nice(nice)
    session_follows_process()


def session_follows_process() -> None:
    """Give this process's session group the process's own niceness (where there are groups)."""
    nice = os.nice(0)
    if nice <= 0:
        return
    try:
        with open("/proc/self/autogroup", "w") as autogroup:
            autogroup.write(str(nice))
    except OSError:
        pass  # no autogroup scheduling here: the nice value alone counts
