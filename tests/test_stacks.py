"""Where every server's running command is now, read without stopping it, grouped by call path."""
from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from core import MPICommandClient
from core.console.host import ConsoleHost
from core.events import CLIENT_RANK
from core.stacks import COMMAND_THREAD, NOT_READ, describe_groups, group_stacks

FLAGDATA = ("import time\ndef wait_for(seconds):\n    time.sleep(seconds)\n"
            "def flagdata():\n    wait_for(30)\nflagdata()")
SETJY = "import time\ndef setjy():\n    time.sleep(30)\nsetjy()"

CHURN = ("import json, random, traceback\ndef deep(n):\n    if n:\n        return deep(n - 1)\n"
         "    try:\n        raise ValueError(json.dumps({'n': n}))\n    except ValueError:\n"
         "        return traceback.format_stack()\ndef churn():\n    while True:\n        deep(random.randrange(60))\n"
         "churn()")
"""Python whose frames come and go all the time, each time other ones: read from a signal handler
while they change, they crashed the worker (SIGSEGV) within 1000 reads, in 8 runs of 8."""


def _functions(report) -> list[str]:
    return [frame.function for frame in report.threads[0].frames] if report.threads else []


def _asked_until(ask: Callable[[], object], ready: Callable[[object], bool], timeout: float = 60):
    """Ask for stacks until they show what the test waits for (the commands have reached their
    calls): a condition with a deadline, not a sleep."""
    deadline = time.monotonic() + timeout
    while True:
        answer = ask()
        if ready(answer):
            return answer
        assert time.monotonic() < deadline, answer
        time.sleep(0.1)


@pytest.fixture(scope="module")
def sixteen():
    with MPICommandClient(servers=16, print_output=False, session_log=False) as client:
        yield client


def test_sixteen_busy_servers_group_by_call_path_without_being_stopped(sixteen):
    flagging = sixteen.push_command_request(FLAGDATA, target_server=list(range(1, 15)))
    [calibrating] = sixteen.push_command_request(SETJY, target_server=15)
    reports = _asked_until(lambda: sixteen.stacks().result(10),
                           lambda reports: all(_functions(reports[rank])[-1:] == ["wait_for"] for rank in range(1, 15))
                           and _functions(reports[15])[-1:] == ["setjy"])
    assert sorted(reports) == list(range(1, 17))
    assert {rank: report.command_id for rank, report in reports.items()} == {
        **dict(zip(range(1, 15), flagging)), 15: calibrating, 16: None}
    groups = group_stacks(list(reports.values()))
    assert describe_groups(groups) == ("14 servers in <module> → flagdata → wait_for; "
                                       "server 15 in <module> → setjy; server 16 idle")
    assert all(record.status == "running" for record in sixteen.commands if record.id in flagging)
    sixteen.interrupt([*flagging, calibrating])
    responses = sixteen.get_command_response([*flagging, calibrating], block=True, timeout=30)
    assert {r["status"] for r in responses} == {"interrupted"}


def test_a_servers_stack_is_read_while_its_worker_holds_the_gil_in_c_and_the_command_goes_on(client):
    code = "import ctypes\ndef hold():\n    ctypes.PyDLL(None).sleep(3)\n    return 'done'\nhold()"
    [command] = client.push_command_request(code, target_server=2)
    report = _asked_until(lambda: client.stacks(2).result(10)[2], lambda report: _functions(report)[-1:] == ["hold"])
    assert report.threads[0].name == COMMAND_THREAD and _functions(report) == ["<module>", "hold"]
    [response] = client.get_command_response([command], block=True, timeout=30)
    assert (response["status"], response["ret"]) == ("done", "done")


def test_the_client_side_workers_stack_comes_from_the_same_supervision(client):
    console = ConsoleHost(client)
    try:
        future = console.run(SETJY)
        report = _asked_until(lambda: console.stacks().result(10), lambda report: _functions(report)[-1:] == ["setjy"])
        assert (report.rank, report.command_id, _functions(report)) == (CLIENT_RANK, future.command_id,
                                                                        ["<module>", "setjy"])
        console.interrupt()
        assert future.result(10)["status"] == "interrupted"
        assert console.stacks().result(10).threads == []
    finally:
        console.close()


def test_stacks_read_again_and_again_while_the_command_runs_python_never_crash_its_worker(client):
    console = ConsoleHost(client)
    try:
        future = console.run(CHURN)
        pid = console.worker.pid
        _asked_until(lambda: console.stacks().result(10), lambda report: "churn" in _functions(report))
        for _ in range(1000):
            report = console.stacks().result(10)
        assert "churn" in _functions(report) and not future.done() and console.worker.pid == pid, \
            future.result(0)["traceback"] if future.done() else report
        console.interrupt()
        assert future.result(10)["status"] == "interrupted"
    finally:
        console.close()

LATE_GIL = ("import json, random, sys\nsys.setswitchinterval(0.6)\ndef deep(n):\n    if n:\n"
            "        return deep(n - 1)\n    return json.loads(json.dumps({'n': [n] * 5}))\n"
            "def churn():\n    while True:\n        deep(random.randrange(60))\nchurn()")
"""Python that lets the GIL go only every 0.6 s, and makes no system call that would let it go
sooner: the dump taken with the GIL is late, as on a machine too busy to run the thread that waits
for it. Read by force when it was late (after 0.5 s), this worker crashed within 20 reads, 3 runs of 3."""


def test_python_that_is_slow_to_let_the_gil_go_is_waited_for_never_read_by_force(client):
    console = ConsoleHost(client)
    try:
        future = console.run(LATE_GIL)
        pid = console.worker.pid
        for _ in range(30):
            report = console.stacks().result(30)
            assert not future.done() and console.worker.pid == pid, future.result(10)["traceback"]
        assert "churn" in _functions(report) or report.threads == [NOT_READ], report
        console.interrupt()
        assert future.result(10)["status"] == "interrupted"
    finally:
        console.close()


def test_c_code_computing_with_the_gil_held_is_read_by_force_after_a_patient_wait(client):
    """A regular expression that backtracks for seconds in C, as a long CASA tool call may: its
    worker sends no heartbeat meanwhile, so the client's timeouts are off for the test."""
    code = "import re\ndef hold():\n    return bool(re.match(r'(a+)+b', 'a' * 28))\nhold()"
    client.suspend_timeouts()
    try:
        [command] = client.push_command_request(code, target_server=2)
        report = _asked_until(lambda: client.stacks(2).result(30)[2], lambda report: "hold" in _functions(report))
        assert _functions(report)[:2] == ["<module>", "hold"]
        [response] = client.get_command_response([command], block=True, timeout=120)
    finally:
        client.suspend_timeouts(False)
    assert (response["status"], response["ret"]) == ("done", False)


def test_with_isolation_none_the_rank_reads_its_own_threads():
    with MPICommandClient(servers=1, isolation="none", print_output=False, session_log=False) as inline:
        [command] = inline.push_command_request(SETJY, target_server=1)
        report = _asked_until(lambda: inline.stacks().result(10)[1],
                              lambda report: _functions(report)[-1:] == ["setjy"])
        assert _functions(report) == ["<module>", "setjy"]
        inline.interrupt([command])
        assert inline.get_command_response([command], block=True, timeout=10)[0]["status"] == "interrupted"
