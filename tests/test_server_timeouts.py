"""A server that misses its heartbeats is 'timeout', provisionally: when it comes back, its command's
real response replaces the provisional one. A busy client blames no server for its own deafness."""
from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from core import MPICommandClient, events
from mpi_helpers import recorded_events

HEARTBEAT = {"heartbeat_interval": 0.25, "heartbeat_timeout": 2.0}


@pytest.fixture
def quick():
    """Two servers whose silence counts after 2 s."""
    with MPICommandClient(servers=2, print_output=False, session_log=False, **HEARTBEAT) as client:
        yield client


def _until(condition, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_stopped_server_times_out_and_its_real_response_replaces_the_provisional_one(quick):
    pid = quick.get_server_status()[1]["pid"]
    with recorded_events(quick) as seen:
        # It prints, so that its stopped rank must answer (a silent one its worker answers itself).
        [command] = quick.push_command_request("import time; time.sleep(1); print('woke'); 'slept'",
                                               target_server=1)
        os.kill(pid, signal.SIGSTOP)
        try:
            [provisional] = quick.get_command_response([command], block=True, timeout=30)
            assert (provisional["status"], quick.get_server_status()[1]["timeout"]) == ("timeout", True)
            assert "sent no heartbeat" in provisional["traceback"]
        finally:
            os.kill(pid, signal.SIGCONT)
        _until(lambda: provisional["status"] == "done")
        assert provisional["ret"] == "slept" and quick.command_futures([command])[0].result() is provisional
        _until(lambda: not quick.get_server_status()[1]["timeout"])
    finished = [event.provisional for event in seen
                if isinstance(event, events.CommandFinished) and event.response["id"] == command]
    assert finished == [True, False]
    assert quick.push_command_request("6 * 7", block=True, target_server=1)[0]["ret"] == 42


def test_a_worker_holding_the_gil_times_its_server_out_until_it_answers_again(quick):
    code = "import ctypes\nctypes.PyDLL(None).sleep(4)\n'held'"
    [command] = quick.push_command_request(code, target_server=2)
    [provisional] = quick.get_command_response([command], block=True, timeout=30)
    assert provisional["status"] == "timeout" and "showed no sign of life" in provisional["traceback"]
    assert quick.get_server_status()[2]["timeout"]
    _until(lambda: provisional["status"] == "done")
    assert provisional["ret"] == "held"
    _until(lambda: not quick.get_server_status()[2]["timeout"])


def test_a_client_holding_its_gil_for_seconds_does_not_time_its_servers_out(quick):
    with recorded_events(quick) as seen:
        sys.set_int_max_str_digits(0)
        started = time.monotonic()
        str(10 ** 600_000)  # the main thread holds the GIL: the client hears nothing meanwhile
        held = time.monotonic() - started
        deadline = time.monotonic() + 2 * HEARTBEAT["heartbeat_timeout"]
        while time.monotonic() < deadline:
            assert not any(status["timeout"] for status in quick.get_server_status().values())
            time.sleep(0.1)
    if held < HEARTBEAT["heartbeat_timeout"]:
        pytest.skip(f"the conversion held the GIL {held:.1f} s only, less than the timeout")
    assert not [event for event in seen if isinstance(event, events.ServerStatusChanged) and event.status["timeout"]]


def test_while_time_outs_are_suspended_a_stopped_server_is_not_declared_timed_out(quick):
    quick.suspend_timeouts()
    pid = quick.get_server_status()[2]["pid"]
    os.kill(pid, signal.SIGSTOP)
    try:
        deadline = time.monotonic() + 2 * HEARTBEAT["heartbeat_timeout"]
        while time.monotonic() < deadline:
            assert not quick.get_server_status()[2]["timeout"]
            time.sleep(0.1)
    finally:
        os.kill(pid, signal.SIGCONT)
        quick.suspend_timeouts(False)
    # Once time-outs count again, so does the silence while they were suspended: the server may be
    # declared timed out before its first heartbeat since is read, and its command's response be
    # a provisional 'timeout' until the real one replaces it.
    [after] = quick.push_command_request("1 + 1", block=True, target_server=2)
    _until(lambda: after["status"] == "done")
    assert after["ret"] == 2
