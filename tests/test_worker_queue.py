"""Commands a server hands its worker ahead of time (`core.wire.command_queue`), under the one
supervisor (`core.supervision.supervisor`): they run in order, a cancel or an interrupt of one that
has not started lands once, a dead worker's run in the fresh one, a time limit counts from a
command's start and acts on it alone, and a stack is the running command's.

Each test first has the running command wait (a condition with a deadline, in the worker) until a
command waits in its worker's queue: so what follows is about commands handed over, not commands
still waiting in the rank.
"""
from __future__ import annotations

import collections
import os
import signal
import threading
import time

from core import events
from mpi_helpers import recorded_events

HANDED_OVER = """\
import array, fcntl, sys, termios, time
def wait_until_handed_over():
    # The worker's command queue is its last argument (core.worker); FIONREAD: a datagram waits.
    waiting, deadline = array.array('i', [0]), time.monotonic() + 30
    while not fcntl.ioctl(int(sys.argv[5]), termios.FIONREAD, waiting) and not waiting[0]:
        assert time.monotonic() < deadline, 'nothing was handed over to the worker'
        time.sleep(0.005)
"""


def _running_with_queue_behind(client, server: int, code: str, behind: list[str], first_limits: dict | None = None,
                               **limits) -> tuple[int, list[int]]:
    """Push `code` (with `first_limits`) and the commands `behind` it (with `limits`) to `server`;
    return their ids once `code` runs and has seen a command handed to its worker (it prints a
    marker then, before `code` goes on)."""
    client.push_command_request(HANDED_OVER, block=True, target_server=server)
    marker = f"handed-over-{os.getpid()}-{id(behind)}"
    seen = threading.Event()

    def watch(event):
        if isinstance(event, events.ServerOutput) and any(marker in getattr(item, "text", "") for item in event.items):
            seen.set()

    unsubscribe = client.subscribe(watch)
    try:
        [first] = client.push_command_request(f"wait_until_handed_over(); print({marker!r}, flush=True)\n{code}",
                                              target_server=server, **(first_limits or {}))
        queued = [client.push_command_request(command, target_server=server, **limits)[0] for command in behind]
        assert seen.wait(30), "the first command never saw a command handed over"
    finally:
        unsubscribe()
    return first, queued


def test_commands_handed_to_the_worker_run_in_the_order_they_were_pushed(client):
    client.push_command_request("ran = []", block=True, target_server=1)
    first, queued = _running_with_queue_behind(client, 1, "time.sleep(0.5)", [f"ran.append({i})" for i in range(20)])
    responses = client.get_command_response([first, *queued], block=True, timeout=60)
    assert {r["status"] for r in responses} == {"done"}
    [order] = client.push_command_request("ran", block=True, target_server=1)
    assert order["ret"] == list(range(20))
    starts = [r["time_start"] for r in responses]
    assert starts == sorted(starts)


def test_a_cancel_and_an_interrupt_of_commands_handed_over_land_once_and_on_them_alone(client):
    client.push_command_request("ran = []", block=True, target_server=2)
    with recorded_events(client) as seen:
        first, (kept, cancelled, interrupted, last) = _running_with_queue_behind(
            client, 2, "time.sleep(60)", [f"ran.append({i})" for i in range(4)])
        client.cancel([cancelled])
        assert client.get_command_response([cancelled], block=True, timeout=10)[0]["status"] == "cancelled"
        client.interrupt([interrupted])  # answered when its turn comes, as for one waiting in the rank
        assert client.get_command_response([first, kept, interrupted, last]) == []  # the first still runs
        client.interrupt([first])
        responses = client.get_command_response([first, kept, interrupted, last], block=True, timeout=30)
    assert [r["status"] for r in responses] == ["interrupted", "done", "interrupted", "done"]
    assert "before it started" in responses[2]["traceback"]
    [ran] = client.push_command_request("ran", block=True, target_server=2)
    assert ran["ret"] == [0, 3]
    finished = collections.Counter(event.response["id"] for event in seen if isinstance(event, events.CommandFinished))
    assert all(finished[command_id] == 1 for command_id in (first, kept, cancelled, interrupted, last)), finished


def test_commands_handed_to_a_worker_that_is_killed_run_once_each_in_the_fresh_one(client):
    client.push_command_request("import os; gone = 1", block=True, target_server=1)
    first, queued = _running_with_queue_behind(client, 1, "time.sleep(60)",
                                               ["('gone' in globals(), __import__('os').getpid())"] * 3)
    status = client.get_server_status()[1]
    os.kill(status["worker_pid"], signal.SIGKILL)
    responses = client.get_command_response([first, *queued], block=True, timeout=30)
    assert responses[0]["status"] == "failed" and "SIGKILL" in responses[0]["traceback"]
    assert [r["status"] for r in responses[1:]] == ["done"] * 3
    assert {tuple(r["ret"]) for r in responses[1:]} == {(False, responses[1]["ret"][1])}
    assert responses[1]["ret"][1] != status["worker_pid"] and responses[1]["namespace_reset"] is True


def test_a_time_limit_of_a_command_handed_over_counts_from_its_start_not_from_the_hand_over(client):
    nap = "import time\ndef nap(seconds):\n    time.sleep(seconds)\n"
    client.push_command_request(nap, block=True, target_server=2)
    first, [quick, stuck] = _running_with_queue_behind(client, 2, "time.sleep(4)", ["nap(0.2)", "nap(60)"],
                                                       timeout=3.0, grace=2.0)
    responses = client.get_command_response([first, quick, stuck], block=True, timeout=60)
    assert [r["status"] for r in responses] == ["done", "done", "expired"]
    assert responses[1]["time_start"] >= responses[0]["time_end"]  # it waited 4 s, past its limit of 3
    expired = responses[2]
    assert 3.0 <= expired["time_end"] - expired["time_start"] < 3.0 + 2.0 + 1.0
    assert "nap" in expired["stack"]


def test_a_time_limit_that_expires_reaches_the_running_command_and_not_those_handed_over_behind_it(client):
    limited, behind = _running_with_queue_behind(client, 1, "time.sleep(60)", ["'second'", "'third'"],
                                                 first_limits={"timeout": 1.0, "grace": 2.0})
    responses = client.get_command_response([limited, *behind], block=True, timeout=60)
    assert [r["status"] for r in responses] == ["expired", "done", "done"]
    assert [r["ret"] for r in responses[1:]] == ["second", "third"]


def test_a_stack_taken_while_commands_wait_in_the_worker_is_the_running_commands(client):
    code = "import time\ndef {0}():\n    time.sleep({1})\n{0}()"
    first, [second] = _running_with_queue_behind(client, 2, code.format("first_phase", 1),
                                                 [code.format("second_phase", 60)])
    deadline = time.monotonic() + 60
    while True:  # asked until the second runs: a condition with a deadline
        report = client.stacks(2).result(10)[2]
        functions = [frame.function for frame in report.threads[0].frames] if report.threads else []
        if "second_phase" in functions:
            break
        assert "first_phase" not in functions or report.command_id == first, report
        assert time.monotonic() < deadline and client.get_command_response([second]) == [], report
        time.sleep(0.05)
    assert report.command_id == second
    client.interrupt([second])
    assert client.get_command_response([second], block=True, timeout=30)[0]["status"] == "interrupted"


def test_under_a_backlog_of_thousands_of_commands_no_worker_is_taken_for_wedged(client):
    """A round of the rank's `select()` may find the channel readable after the frames were read
    (commands handed over make the rank read them from elsewhere too): a read then would wait for
    a frame that is not coming, and after 5 s kill a healthy worker (1 run in 5 of the 10,000
    command throughput bench did)."""
    workers = {rank: status["worker_pid"] for rank, status in client.get_server_status().items()}
    with recorded_events(client) as seen:
        for _ in range(3):
            ids = [client.push_command_request("1") for _ in range(10000)]
            responses = client.get_command_response(ids, block=True, timeout=120)
            assert {r["status"] for r in responses} == {"done"}
    errors = [item for event in seen if isinstance(event, events.ServerOutput)
              for item in event.items if getattr(item, "level", 0) >= 40]
    assert errors == []
    assert {rank: status["worker_pid"] for rank, status in client.get_server_status().items()} == workers
