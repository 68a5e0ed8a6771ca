"""The kernel's view of a process's threads, read on real processes: one asleep, one computing."""
from __future__ import annotations

import subprocess
import sys

import pytest

from core.supervision import thread_states

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="read from /proc")

SPIN = 0.4
"""Seconds the states are watched for: the span over which CPU is measured, not a wait for an event."""


def _watched(code: str) -> tuple[thread_states.ThreadTimes, thread_states.ThreadTimes]:
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE) as process:
        try:
            assert process.stdout.readline() == b"ready\n"
            before = thread_states.sample(process.pid)
            subprocess.run(["sleep", str(SPIN)], check=True)
            return before, thread_states.sample(process.pid)
        finally:
            process.kill()


def test_a_process_waiting_in_a_blocking_call_is_asleep_and_not_computing():
    before, after = _watched("import time; print('ready', flush=True); time.sleep(60)")
    assert thread_states.asleep(before, after) and not thread_states.computing(before, after)


def test_a_process_on_a_cpu_is_computing_and_not_asleep():
    before, after = _watched("print('ready', flush=True)\nwhile True: pass")
    assert thread_states.computing(before, after) and not thread_states.asleep(before, after)


def test_a_process_that_is_gone_says_nothing_and_counts_as_neither():
    with subprocess.Popen([sys.executable, "-c", "pass"]) as process:
        process.wait()
    gone = thread_states.sample(process.pid)
    assert gone is None
    assert not thread_states.asleep(gone, gone) and not thread_states.computing(gone, gone)
