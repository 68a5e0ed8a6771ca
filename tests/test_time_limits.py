"""Time limits held where the command runs: a server's worker, or rank 0's client-side worker.

At its limit a command's stack is taken and it is interrupted; if it has not ended after the grace,
its worker is killed and replaced. It ends 'expired', with the stack of where it was.
"""
from __future__ import annotations

import json
import threading
import time

import pytest

from core import MPICommandClient
from core.console.host import ConsoleHost
from core.events import ServerOutput
from core.supervision.worker_process import STACKS_GIL_WAIT
from mpi_helpers import wait_for_no_servers

LIMIT = 1.0
GRACE = 2.0

ASLEEP = "import time\ndef nap():\n    time.sleep(60)\nnap()"
IN_C_WITHOUT_THE_GIL = "import ctypes\ndef doze():\n    ctypes.CDLL(None).sleep(60)\ndoze()"
IN_C_HOLDING_THE_GIL = ("import ctypes\nlibc = ctypes.PyDLL(None)\nmutex = ctypes.create_string_buffer(64)\n"
                        "def stuck():\n    libc.pthread_mutex_lock(mutex)\n    libc.pthread_mutex_lock(mutex)\n"
                        "stuck()")
"""A mutex locked twice while the GIL is held: no signal ends it, no Python thread runs meanwhile."""
DEAF = ("import time\ndef deaf():\n    while True:\n        try:\n            time.sleep(1)\n"
        "        except KeyboardInterrupt:\n            pass\ndeaf()")


@pytest.fixture(scope="module")
def console(client):
    host = ConsoleHost(client)
    yield host
    host.close()


@pytest.fixture(params=["server", "client-side worker"])
def run_limited(request, client, console):
    """Run code with a time limit on server 1, or on rank 0's client-side worker: (response, seconds)."""
    def run(code: str) -> tuple[dict, float]:
        started = time.monotonic()
        if request.param == "server":
            [response] = client.push_command_request(code, block=True, target_server=1, timeout=LIMIT, grace=GRACE)
        else:
            response = console.run(code, timeout=LIMIT, grace=GRACE).result(30)
        return response, time.monotonic() - started
    return run


def _thread(response: dict) -> str:
    """The command thread's part of the response's stack."""
    return response["stack"].split("\n\n")[0]


@pytest.mark.parametrize("code, function", [(ASLEEP, "nap"), (IN_C_WITHOUT_THE_GIL, "doze")])
def test_a_command_past_its_limit_is_interrupted_with_its_stack_and_keeps_its_namespace(run_limited, code, function):
    before, _ = run_limited("kept = 'yes'")
    response, seconds = run_limited(code)
    assert seconds < LIMIT + GRACE + 1
    assert (response["status"], response["successful"], response["time_limit"]) == ("expired", False, LIMIT), \
        f"{response['traceback']}(the command before it: {before['status']}, {before['traceback']!r})"
    assert f"in {function}" in _thread(response), response["stack"]
    assert response["traceback"].endswith(f"ran past its limit of {LIMIT:g} s and was interrupted.\n")
    after, _ = run_limited("kept")
    assert (after["ret"], after["namespace_reset"]) == ("yes", False), after["traceback"]


@pytest.mark.parametrize("code, function", [(IN_C_HOLDING_THE_GIL, "stuck"), (DEAF, "deaf")])
def test_a_command_that_does_not_end_on_the_interrupt_loses_its_worker_after_the_grace(run_limited, code, function):
    run_limited("kept = 'yes'")
    response, seconds = run_limited(code)
    # C code holding the GIL is read by force once its threads are seen asleep (`STACKS_GIL_WAIT`);
    # a whole run once took 4.3 s here, with a second of slack only
    assert seconds < LIMIT + STACKS_GIL_WAIT + GRACE + 1
    assert (response["status"], response["namespace_reset"]) == ("expired", True), response["traceback"]
    assert f"in {function}" in _thread(response), response["stack"]
    assert f"did not end within the grace of {GRACE:g} s after the interrupt, so its worker process" \
           in response["traceback"]
    after, _ = run_limited("'kept' in dir()")
    assert (after["ret"], after["namespace_reset"]) == (False, True), after["traceback"]


def test_the_grace_is_the_clients_unless_a_push_gives_its_own(client):
    assert client.time_limit_grace == 5.0
    started = time.monotonic()
    [response] = client.push_command_request(DEAF, block=True, target_server=2, timeout=0.5, grace=0.5)
    assert response["status"] == "expired" and time.monotonic() - started < 3, response["traceback"]
    assert "grace of 0.5 s" in response["traceback"]


def test_a_time_limit_that_is_no_positive_number_is_refused(client):
    for bad in (0, -1, float("inf"), "5", True):
        with pytest.raises(ValueError, match="timeout must be a positive number of seconds"):
            client.push_command_request("1", timeout=bad)


def test_the_limit_is_in_the_session_log_and_the_stack_in_the_expired_line(tmp_path):
    log = tmp_path / "limits.jsonl"
    with MPICommandClient(servers=1, print_output=False, session_log=log) as session:
        session.push_command_request(ASLEEP, block=True, target_server=1, timeout=LIMIT)
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    [queued] = [line for line in lines if line["event"] == "queued"]
    [finished] = [line for line in lines if line["event"] == "finished"]
    assert queued["time_limit"] == LIMIT
    assert finished["status"] == "expired" and "in nap" in finished["stack"], finished


def test_with_isolation_none_a_command_past_its_limit_is_interrupted_and_one_deaf_to_it_runs_on():
    deaf_until = ("import time\ndef deaf(until):\n    while time.monotonic() < until:\n        try:\n"
                  "            time.sleep(0.05)\n        except KeyboardInterrupt:\n            pass\n"
                  "deaf(time.monotonic() + 2.5)")
    with MPICommandClient(servers=1, isolation="none", print_output=False, session_log=False) as inline:
        [asleep] = inline.push_command_request(ASLEEP, block=True, target_server=1, timeout=LIMIT)
        assert asleep["status"] == "expired" and "in nap" in _thread(asleep), asleep["traceback"]
        [deaf] = inline.push_command_request(deaf_until, block=True, target_server=1, timeout=0.5, grace=0.5)
        assert deaf["status"] == "expired" and not deaf["namespace_reset"], deaf["traceback"]
        assert "with isolation 'none' it runs in the server rank itself, where there is nothing to kill" \
               in deaf["traceback"]


def test_a_forced_stop_kills_a_worker_that_ignores_the_interrupt_after_the_grace():
    session = MPICommandClient(servers=1, print_output=False, session_log=False, time_limit_grace=1.0)
    session.start_services()
    status = session.get_server_status()[1]
    running = threading.Event()
    session.subscribe(lambda event: isinstance(event, ServerOutput) and running.set())
    [command] = session.push_command_request("print('deaf', flush=True)\n" + DEAF, target_server=1)
    assert running.wait(10)
    started = time.monotonic()
    session.stop_services(force_command_request_interruption=True)
    assert time.monotonic() - started < 6
    [response] = session.get_command_response([command])
    assert response["status"] == "interrupted" and "of a forced stop, so its worker process" in response["traceback"]
    assert wait_for_no_servers([status["pid"], status["worker_pid"]])
