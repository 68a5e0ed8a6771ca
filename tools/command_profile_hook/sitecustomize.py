"""What `tools/command_profile.py` loads into every Python process of the sessions it measures.

This directory is first on the session's PYTHONPATH, so Python's `site` imports this module at
the start of the client, of each server rank and of each worker (they inherit the variable). It
does nothing unless MPIPANEL_PROFILE_DIR is set. Then SIGUSR1 makes the process write a snapshot
to that directory (`PID-N.json`, N counting from 0): the MPI envelopes its `Peer`s sent and
received and the doorbell bytes they wrote, the frames its worker channels sent and received,
and, with MPIPANEL_PROFILE_CPROFILE=1, every function's calls and times from a cProfile profiler per thread,
each started with its thread. The tool diffs the snapshots taken before and after its window.

Nothing in `core` changes: the counters wrap its classes in this process, at the first snapshot
(before the window), and only the classes it has imported by then.
"""
from __future__ import annotations

import collections
import cProfile
import functools
import gc
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

DIRECTORY = os.environ.get("MPIPANEL_PROFILE_DIR")
PROFILING = os.environ.get("MPIPANEL_PROFILE_CPROFILE") == "1"

_counts: collections.Counter = collections.Counter()
_profilers: list[tuple[str, cProfile.Profile]] = []
_snapshots = 0
_peers: list = []


def snapshot() -> Path:
    """Write this process's counters (and profile) as the next `PID-N.json`; returns its path."""
    global _snapshots
    _wrap_counters()
    if not _peers:  # found once, before the window, so that the later snapshots cost little
        _peers.extend(o for o in gc.get_objects() if type(o).__name__ == "Peer" and hasattr(o, "received"))
    peers = _peers
    data = {"pid": os.getpid(),
            "counts": {**_counts, "envelopes received": sum(p.received for p in peers)},
            "threads": {thread.native_id: thread.name for thread in threading.enumerate()},
            "profiler cost": _calibrated(),
            "profile": [_entry(thread, e) for thread, profiler in _profilers for e in profiler.getstats()]}
    path = Path(DIRECTORY) / f"{os.getpid()}-{_snapshots}.json"
    _snapshots += 1
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(data))
    partial.replace(path)  # whole, or not there: the tool waits for it
    return path


def _entry(thread: str, entry) -> list:
    code = entry.code
    where = (f"{code.co_name} ({_short(code.co_filename)}:{code.co_firstlineno})" if hasattr(code, "co_name")
             else str(code))
    subcalls = sum(sub.callcount for sub in entry.calls or ())
    return [thread, where, entry.callcount, entry.inlinetime, entry.totaltime, subcalls]


CALIBRATION_CALLS = 5000
_cost: dict[str, float] = {}


def _calibrated() -> dict[str, float]:
    """The profiler's own cost per call, in seconds: what an empty function's profile shows
    (`callee`), and what its caller's shows per call it makes (`caller`). Timing CPU costs a
    system call per reading on this VM, so it is most of what a small function's profile says."""
    main = next((profiler for thread, profiler in _profilers if thread == "MainThread"), None)
    if main is None or _cost or threading.current_thread() is not threading.main_thread():
        return _cost

    def nothing() -> None:
        pass

    def caller() -> None:
        for _ in range(CALIBRATION_CALLS):
            nothing()

    caller()
    found = {entry.code: entry for entry in main.getstats() if entry.code in (nothing.__code__, caller.__code__)}
    _cost["callee"] = found[nothing.__code__].inlinetime / CALIBRATION_CALLS
    _cost["caller"] = found[caller.__code__].inlinetime / CALIBRATION_CALLS
    return _cost


def _short(filename: str) -> str:
    for marker in ("/core/", "/site-packages/", "/lib/python"):
        if marker in filename:
            return filename[filename.index(marker) + 1:]
    return filename


_WRAPPED = {("core.wire.transport", "core.transport"): ("Peer", ("send", "send_tracked", "ring")),
            ("core.wire.worker_channel", "core.worker_channel"): ("FrameChannel", ("send", "receive"))}
"""The classes counted, under their module's name now and before 0ca3df6 split the core."""


def _wrap_counters() -> None:
    for module_names, (class_name, methods) in _WRAPPED.items():
        module = next((sys.modules[name] for name in module_names if name in sys.modules), None)
        cls = getattr(module, class_name, None)
        if cls is None or getattr(cls, "_counted", False):
            continue
        for method in methods:
            if hasattr(cls, method):
                setattr(cls, method, _counted(f"{class_name}.{method}", getattr(cls, method)))
        cls._counted = True


def _counted(name: str, method):
    @functools.wraps(method)
    def counting(*args, **kwargs):
        _counts[name] += 1
        return method(*args, **kwargs)
    return counting


def _profile_this_thread(*_) -> None:
    sys.setprofile(None)
    profiler = cProfile.Profile(time.thread_time_ns, 1e-9)  # CPU time: a thread asleep in select costs none
    _profilers.append((threading.current_thread().name, profiler))
    profiler.enable()


if DIRECTORY:
    signal.signal(signal.SIGUSR1, lambda *_: snapshot())
    if PROFILING:
        _profile_this_thread()
        threading.setprofile(_profile_this_thread)  # every thread started from now on
