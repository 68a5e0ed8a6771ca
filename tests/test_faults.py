"""Every server fault ends in a clear failed response while the client and other servers go on."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from core import MPICommandClient, events
from mpi_helpers import (OPEN_MPI, REPO, mpiexec_command, recorded_events, run_mpiexec, run_rank_loss_script,
                         script_file, server_processes, wait_for_no_servers)
from xvfb_display import wait_until


def test_endless_loop_is_interrupted_and_heartbeats_keep_flowing(client):
    heartbeats = threading.Semaphore(0)

    def count_heartbeats(event):
        if isinstance(event, events.ServerStatusChanged) and event.server == 1 and event.status["busy"]:
            heartbeats.release()

    client.push_command_request("kept = 'yes'", block=True, target_server=1)
    unsubscribe = client.subscribe(count_heartbeats)
    try:
        [loop_id] = client.push_command_request("while True:\n    pass", target_server=1)
        for _ in range(2):
            assert heartbeats.acquire(timeout=10), "no heartbeat while the command ran"
    finally:
        unsubscribe()
    assert client.get_server_status()[1]["command_id"] == loop_id
    client.interrupt([loop_id])
    [response] = client.get_command_response([loop_id], block=True, timeout=10)
    assert response["status"] == "interrupted" and response["successful"] is False
    assert response["traceback"].rstrip().endswith("KeyboardInterrupt")
    [after] = client.push_command_request("kept", block=True, target_server=1)
    assert after["ret"] == "yes"


def test_interrupting_a_log_flood_never_cuts_a_frame_so_the_namespace_survives(client):
    """The worker writes a frame per log record; an interrupt that landed inside one (a 1 MB record
    fills the socket's buffer, which makes that likely) left the rank waiting for the rest of the
    frame, without heartbeats, until the client timed it out (measured: 1 run in 2 of 10 rounds)."""
    client.push_command_request("kept = 'yes'", block=True, target_server=1)
    flood_code = "import logging\nwhile True:\n    logging.getLogger('flood').warning('x' * 1_000_000)"
    for _ in range(20):
        flood = _start_and_wait(client, flood_code, server=1)
        client.interrupt([flood])
        [response] = client.get_command_response([flood], block=True, timeout=20)
        assert response["status"] == "interrupted", response["traceback"]
        [after] = client.push_command_request("kept", block=True, target_server=1)
        assert (after["ret"], after["namespace_reset"]) == ("yes", False), after["traceback"]


def test_a_worker_stopped_half_way_through_a_frame_is_replaced_and_its_server_lives_on(client):
    """A frame's length, then nothing (the whole worker stopped, as SIGSTOP does, so its reporter's
    beats cannot feed the rank either): the rank must not wait for the rest past its stall limit."""
    from core.supervision.worker_process import FRAME_STALL_LIMIT
    ids = client.push_command_request("import os, signal, sys\n"
                                      "os.write(int(sys.argv[1]), (1000).to_bytes(8, 'big'))\n"
                                      "os.kill(os.getpid(), signal.SIGSTOP)", target_server=2)
    [stuck] = client.get_command_response(ids, block=True, timeout=30)
    assert stuck["status"] == "failed" and not client.get_server_status()[2]["timeout"]
    assert (f"stopped half-way through a message to its server for {FRAME_STALL_LIMIT:g} s"
            in stuck["traceback"]), stuck["traceback"]
    [after] = client.push_command_request("6 * 7", block=True, target_server=2)
    assert (after["ret"], after["namespace_reset"]) == (42, True)


FORGED_LENGTH = "(2 ** 62).to_bytes(8, 'big')"
FORGED_BUFFER = ("(lambda header: len(header).to_bytes(8, 'big') + header)("
                 "__import__('pickle').dumps((3, {}, [2 ** 50], [None])))")


@pytest.mark.parametrize("forged, why", [
    (FORGED_LENGTH, f"announced a frame header of {2 ** 62} bytes (at most 268435456), and was killed"),
    (FORGED_BUFFER, f"announced buffers of {2 ** 50} bytes (at most"),
    ("(5).to_bytes(8, 'big') + b'junk!'", "sent a frame header that is not one, and was killed"),
], ids=["header length", "buffer size", "not a header"])
def test_a_worker_that_forges_a_frame_is_replaced_saying_why_and_its_server_lives_on(client, forged, why):
    """A worker's lengths are not trusted: a forged one counts as the worker's death."""
    ids = client.push_command_request(f"import os, sys, time\nos.write(int(sys.argv[1]), {forged})\n"
                                      "time.sleep(60)", target_server=2)
    [forger] = client.get_command_response(ids, block=True, timeout=30)
    assert forger["status"] == "failed" and why in forger["traceback"], forger["traceback"]
    [after] = client.push_command_request("6 * 7", block=True, target_server=2)
    assert (after["ret"], after["namespace_reset"]) == (42, True)


def test_interrupt_by_server_rank_stops_what_runs_there(client):
    sleeper = _start_and_wait(client, "time.sleep(60)", server=2)
    client.interrupt(server=2)
    [response] = client.get_command_response([sleeper], block=True, timeout=10)
    assert response["status"] == "interrupted"


def test_interrupt_that_overtakes_its_command_still_interrupts_it(client):
    [sleeper] = client.push_command_request("import time; time.sleep(60)", target_server=1)
    client.interrupt([sleeper])
    [response] = client.get_command_response([sleeper], block=True, timeout=10)
    assert response["status"] == "interrupted" and "KeyboardInterrupt" in response["traceback"]


def _start_and_wait(client, command: str, server: int) -> int:
    """Push `command` and return its id once it really runs on the server (it says so first)."""
    started = threading.Event()
    marker = f"started-{id(started)}"

    def watch(event):
        if isinstance(event, events.ServerOutput) and any(marker in getattr(item, "text", "")
                                                          for item in event.items):
            started.set()

    unsubscribe = client.subscribe(watch)
    try:
        [command_id] = client.push_command_request(f"import time; print({marker!r}, flush=True); {command}",
                                                   target_server=server)
        assert started.wait(30), "the command never started"
    finally:
        unsubscribe()
    return command_id


def test_cancel_drops_queued_commands_but_not_the_running_one(client):
    [running] = client.push_command_request("__import__('time').sleep(0.5) or 'finished'", target_server=1)
    queued = [client.push_command_request(f"{i}", target_server=1)[0] for i in range(3)]
    client.cancel(queued + [running])
    responses = client.get_command_response([running] + queued, block=True, timeout=30)
    assert responses[0]["status"] == "done" and responses[0]["ret"] == "finished"
    assert [r["status"] for r in responses[1:]] == ["cancelled"] * 3
    assert all(r["successful"] is False and "Cancelled" in r["traceback"] for r in responses[1:])


def test_cancel_of_a_command_waiting_for_any_server_never_sends_it(client):
    blockers = client.push_command_request("import time; time.sleep(0.5)", target_server=[1, 2])
    [waiting] = client.push_command_request("'should not run'")
    client.cancel([waiting])
    [response] = client.get_command_response([waiting], block=True, timeout=10)
    assert response["status"] == "cancelled" and response["server"] is None
    client.get_command_response(blockers, block=True)


def test_future_cancel_cancels_the_queued_command(client):
    client.push_command_request("import time", block=True, target_server=2)
    client.push_command_request("time.sleep(0.5)", target_server=2)
    future = client.submit("'late'", target=2)
    future.cancel()
    assert future.result(timeout=10)["status"] == "cancelled"


def test_commands_queued_in_the_worker_behind_a_long_one_are_cancelled_at_once(client):
    """A server hands its worker the commands queued behind the one running; a cancel takes them
    back before they start, and answers at once, as for commands still waiting in the rank."""
    running = _start_and_wait(client, "time.sleep(60)", server=1)
    queued = [client.push_command_request(f"{i}", target_server=1)[0] for i in range(5)]
    client.cancel(queued[1:3])
    cancelled = client.get_command_response(queued[1:3], block=True, timeout=10)
    assert [r["status"] for r in cancelled] == ["cancelled"] * 2
    assert client.get_command_response([running]) == []
    client.interrupt([running])
    responses = client.get_command_response([running, queued[0], *queued[3:]], block=True, timeout=10)
    assert [r["status"] for r in responses] == ["interrupted", "done", "done", "done"]
    assert [r["ret"] for r in responses[1:]] == [0, 3, 4]


def test_an_interrupt_of_a_command_queued_in_the_worker_lands_before_it_starts_and_not_on_another(client):
    running = _start_and_wait(client, "time.sleep(60)", server=2)
    [target] = client.push_command_request("'ran'", target_server=2)
    [after] = client.push_command_request("'after'", target_server=2)
    client.interrupt([target])
    client.interrupt([running])
    responses = client.get_command_response([running, target, after], block=True, timeout=10)
    assert [r["status"] for r in responses] == ["interrupted", "interrupted", "done"]
    assert "before it started" in responses[1]["traceback"] and responses[2]["ret"] == "after"


def test_commands_queued_in_a_worker_that_dies_run_in_the_fresh_one(client):
    client.push_command_request("gone = 1", block=True, target_server=1)
    dying = _start_and_wait(client, "time.sleep(0.5); import os; os.kill(os.getpid(), 9)", server=1)
    queued = [client.push_command_request("'gone' in globals()", target_server=1)[0] for _ in range(3)]
    responses = client.get_command_response([dying, *queued], block=True, timeout=30)
    assert responses[0]["status"] == "failed" and "SIGKILL" in responses[0]["traceback"]
    assert [(r["status"], r["ret"]) for r in responses[1:]] == [("done", False)] * 3
    assert responses[1]["namespace_reset"] is True


def test_restarting_a_server_fails_what_runs_and_runs_what_its_worker_had_queued_in_the_fresh_one(client):
    client.push_command_request("kept = 1", block=True, target_server=2)
    sleeper = _start_and_wait(client, "time.sleep(60)", server=2)
    queued = [client.push_command_request("'kept' in globals()", target_server=2)[0] for _ in range(3)]
    client.restart_server(2).result(timeout=30)
    responses = client.get_command_response([sleeper, *queued], block=True, timeout=30)
    assert responses[0]["status"] == "failed" and "restarted" in responses[0]["traceback"]
    assert [(r["status"], r["ret"]) for r in responses[1:]] == [("done", False)] * 3


def test_memory_error_is_a_failed_command(client):
    [response] = client.push_command_request("bytearray(1 << 50)", block=True, target_server=1)
    assert response["successful"] is False and "MemoryError" in response["traceback"]


def test_hundred_megabyte_array_result_arrives_intact(client):
    np = pytest.importorskip("numpy")
    client.push_command_request("import numpy as np; big = np.arange(100_000_000 // 8, dtype=np.float64)",
                                block=True, target_server=2)
    [response] = client.push_command_request("big", block=True, target_server=2)
    assert response["successful"], response["traceback"]
    result = response["ret"]
    assert result.nbytes == 100_000_000 and result[0] == 0 and result[-1] == result.size - 1
    assert np.array_equal(result, np.arange(result.size, dtype=np.float64))


def test_million_printed_lines_arrive_in_bounded_batches(client):
    received = {"chars": 0, "batches": 0, "largest": 0}

    def tally(event):
        if isinstance(event, events.ServerOutput) and event.server == 1:
            size = sum(len(getattr(item, "text", "")) for item in event.items)
            received["chars"] += size
            received["batches"] += 1
            received["largest"] = max(received["largest"], size)

    unsubscribe = client.subscribe(tally)
    try:
        [response] = client.push_command_request("for i in range(1_000_000): print(i)", block=True,
                                                 target_server=1)
    finally:
        unsubscribe()
    assert response["successful"]
    assert received["chars"] == sum(len(f"{i}\n") for i in range(1_000_000))
    assert received["largest"] <= 128 * 1024
    assert received["batches"] < 2_000


def test_a_flood_of_log_records_costs_bounded_memory_on_the_server_and_the_client(client):
    """Log records travel on the worker's channel, not its pipes: the rank read them without regard
    to the output it had in flight, 16 records of 1 MB to a batch, and the client took 64 batches
    before delivering them (measured under Open MPI: +1.2 GB every 5 s in the rank and as much in
    the client; with the fix 120 MB and +52 MB). A doorbell's receive then chased the flooding
    rank's count on the board: under Open MPI the client grew by 2–415 MB, and by 58–60 MB once a
    doorbell took at most a step's 64 envelopes."""
    rank = psutil.Process(client.get_server_status()[1]["pid"])
    ours = psutil.Process()
    before = ours.memory_info().rss
    ids = client.push_command_request("import logging, time\nend = time.monotonic() + 3\n"
                                      "while time.monotonic() < end:\n"
                                      "    logging.getLogger('flood').warning('x' * 1_000_000)", target_server=1)
    peak_rank = peak_growth = 0
    while not client.get_command_response(ids):
        peak_rank = max(peak_rank, rank.memory_info().rss)
        peak_growth = max(peak_growth, ours.memory_info().rss - before)
        time.sleep(0.05)  # sampling memory while the flood runs, not waiting for it
    [response] = client.get_command_response(ids)
    assert response["successful"], response["traceback"]
    assert peak_rank < 250 * 2**20 and peak_growth < 160 * 2**20, (peak_rank >> 20, peak_growth >> 20)


@pytest.mark.parametrize("command", [
    "import sys; sys.stdout.close()",
    "import sys, io; sys.stdout = io.StringIO()",
    "import sys; sys.stderr = None",
    "import os; os.close(1)",
    "import os; os.dup2(os.open(os.devnull, os.O_WRONLY), 1)",
])
def test_command_that_breaks_its_streams_leaves_output_working(client, command):
    client.push_command_request(command, block=True, target_server=2)
    with recorded_events(client) as seen:
        [response] = client.push_command_request("print('still printing')", block=True, target_server=2)
    assert response["successful"], response["traceback"]
    texts = "".join(item.text for e in seen if isinstance(e, events.ServerOutput)
                    for item in e.items if hasattr(item, "text"))
    assert "still printing" in texts


def test_mpi_abort_in_a_command_costs_only_the_worker(client):
    [response] = client.push_command_request("from mpi4py import MPI; MPI.COMM_WORLD.Abort(5)",
                                             block=True, target_server=1)
    assert response["successful"] is False and "exited with code 5" in response["traceback"]
    [after] = client.push_command_request("'alive'", block=True, target_server=1)
    assert after["ret"] == "alive" and after["namespace_reset"]


def test_restart_server_gives_a_fresh_namespace_and_fails_the_running_command(client):
    client.push_command_request("mine = 1", block=True, target_server=2)
    sleeper = _start_and_wait(client, "time.sleep(60)", server=2)
    status = client.restart_server(2).result(timeout=30)
    assert status["state"] == "idle"
    [killed] = client.get_command_response([sleeper], block=True, timeout=10)
    assert killed["status"] == "failed" and "restarted at the client's request" in killed["traceback"]
    [after] = client.push_command_request("'mine' in globals()", block=True, target_server=2)
    assert after["ret"] is False and after["namespace_reset"] is True


def test_forced_stop_interrupts_running_and_cancels_queued_commands():
    with MPICommandClient(servers=1, print_output=False) as stopping:
        running = _start_and_wait(stopping, "time.sleep(60)", server=1)
        [queued] = stopping.push_command_request("'queued'", target_server=1)
        stopping.stop_services(force_command_request_interruption=True)
        statuses = [r["status"] for r in stopping.get_command_response([running, queued])]
    assert statuses == ["interrupted", "cancelled"]


def test_silent_server_is_marked_timeout_and_recovers():
    slow = MPICommandClient(servers=1, isolation="none", heartbeat_interval=0.2,
                            heartbeat_timeout=1.0, print_output=False)
    changes = []
    slow.subscribe(lambda e: changes.append(e.status["state"]) if isinstance(e, events.ServerStatusChanged) else None)
    with slow:
        # A builtin loop holds the GIL: the rank's pump thread cannot send heartbeats.
        [hog] = slow.push_command_request("sum(range(3 * 10**8))", target_server=1)
        [response] = slow.get_command_response([hog], block=True, timeout=60)
        assert response["status"] == "timeout" and response["successful"] is False
        assert "Server 1 (pid" in response["traceback"] and "sent no heartbeat" in response["traceback"]
        [after] = slow.push_command_request("'back'", block=True, target_server=1)
        assert after["ret"] == "back"
        assert slow.get_server_status()[1]["timeout"] is False
    assert "timeout" in changes


LOST_RANK_SCRIPT = """
    from core import MPICommandClient
    client = MPICommandClient(isolation='none')
    client.start_services()
    client.push_command_request("state = 1", block=True, target_server=[1, 2])
    [died] = client.push_command_request("import os; os._exit(3)", block=True, target_server=2)
    print("died:", died["status"], died["successful"])
    print("state:", client.get_server_status()[2]["state"])
    status = client.restart_server(2).result(timeout=60)
    [fresh] = client.push_command_request("'state' in globals()", block=True, target_server=2)
    [other] = client.push_command_request("state", block=True, target_server=1)
    print("replaced:", status["state"], fresh["ret"], fresh["namespace_reset"], other["ret"])
    client.stop_services()
    print("stopped")
"""


@pytest.mark.skipif(OPEN_MPI, reason="Open MPI 5.0.11 replaces the lost rank, but then ends the job unreliably "
                    "(measured: 2 runs in 4 lose the client's last output, 1 in 4 hangs; PRTE error in "
                    "odls_base_default_fns.c:1751); see docs/architecture.md")
def test_lost_rank_under_disable_auto_cleanup_is_replaced_by_a_spawned_one(tmp_path):
    result = run_rank_loss_script(tmp_path, LOST_RANK_SCRIPT, "lost.py", timeout=90)
    assert "died: lost False" in result.stdout, result.stdout + result.stderr
    assert "state: lost" in result.stdout
    assert "replaced: idle False True 1" in result.stdout
    assert "stopped" in result.stdout and "not finalizing MPI" in result.stderr


KILLED_CLIENT_SCRIPT = """
    import os, sys, time
    import psutil
    from core import MPICommandClient
    client = MPICommandClient(servers=2)
    client.start_services()
    status = client.get_server_status()
    pids = [s["pid"] for s in status.values()] + [s["worker_pid"] for s in status.values()]
    print(" ".join(map(str, pids)), flush=True)
    print(" ".join(str(p.pid) for p in psutil.Process().children(recursive=True) if p.pid not in pids), flush=True)
    client.push_command_request("import time; time.sleep(600)", target_server=[1, 2])
    time.sleep(600)
"""


@pytest.mark.parametrize("launch", ["spawn", "mpiexec"])
def test_servers_exit_by_themselves_when_the_client_is_killed(tmp_path, launch):
    body = KILLED_CLIENT_SCRIPT if launch == "spawn" else KILLED_CLIENT_SCRIPT.replace(
        "MPICommandClient(servers=2)", "MPICommandClient()")
    script = script_file(tmp_path, body, "victim.py")
    command = ([*mpiexec_command(3), "-m", "core", str(script)] if launch == "mpiexec"
               else [sys.executable, str(script)])
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    # Its own session: MPICH's launcher answers a dead client by killing its process group.
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env,
                          start_new_session=True) as proc:
        pids = [int(p) for p in proc.stdout.readline().split()]
        others = [int(p) for p in proc.stdout.readline().split()]  # spawned: the launcher and its proxy
        assert len(pids) == 4
        client_pid = proc.pid if launch == "spawn" else _rank0_pid(proc.pid)
        os.kill(client_pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert wait_for_no_servers(pids), f"still running: {server_processes(pids)}"
    assert wait_until(lambda: not _alive(others), 10), [psutil.Process(pid).cmdline() for pid in _alive(others)]


GIL_HOLDER_SCRIPT = """
    import time
    from core import MPICommandClient
    client = MPICommandClient(servers=1, print_output=False, session_log=False)
    client.start_services()
    status = client.get_server_status()[1]
    print(status["pid"], status["worker_pid"], flush=True)
    client.push_command_request("import ctypes; ctypes.PyDLL(None).sleep(600)", target_server=1)
    time.sleep(600)
"""


def _sleeps_in_c(pid: int) -> bool:
    """The main thread of process `pid` sleeps in the kernel's nanosleep (libc's `sleep`)."""
    try:
        return Path(f"/proc/{pid}/wchan").read_text() == "hrtimer_nanosleep"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_worker_holding_the_gil_in_c_code_ends_with_its_server_rank(tmp_path):
    """Its lifeline thread needs the GIL to end the process; the kernel's parent-death signal
    does not. Before it, the worker slept on for the command's 600 s."""
    script = script_file(tmp_path, GIL_HOLDER_SCRIPT, "holder.py")
    with subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, start_new_session=True) as proc:
        rank, worker = map(int, proc.stdout.readline().split())
        try:
            assert wait_until(lambda: _sleeps_in_c(worker), 30)
            os.kill(rank, signal.SIGKILL)
            assert wait_until(lambda: not _alive([worker]), 10), "the worker outlived its rank"
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            for pid in _alive([worker]):
                os.kill(pid, signal.SIGKILL)
    assert wait_for_no_servers([rank, worker])


CTRL_C_SCRIPT = """
    import signal, time
    import psutil
    # Python's own handler, as a script run from a terminal has it (a test run started in the
    # background of a shell without job control passes SIGINT on ignored)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from core import MPICommandClient
    client = MPICommandClient(servers=2, print_output=False, session_log=False)
    client.start_services()
    client.push_command_request("import time; time.sleep(600)", target_server=[1, 2])
    while not all(status["busy"] for status in client.get_server_status().values()):
        time.sleep(0.05)
    print(" ".join(str(p.pid) for p in psutil.Process().children(recursive=True)), flush=True)
    time.sleep(600)
"""


def test_ctrl_c_in_a_script_interrupts_its_running_commands_and_ends_it(tmp_path):
    """The SIGINT a terminal sends its foreground group reaches the client alone (the launcher has
    a group of its own): the script's exit hook interrupts what runs instead of waiting for it.
    Under Open MPI, 1 Ctrl-C in 3-5 went to one of Open MPI's threads, and the main thread slept
    on without the relay (`core.client.sigint_relay`)."""
    script = script_file(tmp_path, CTRL_C_SCRIPT, "ctrl_c.py")
    with subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, start_new_session=True) as proc:
        descendants = [int(p) for p in proc.stdout.readline().split()]  # once both commands run
        os.killpg(proc.pid, signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # it waits for its commands: what the test is against
            raise
    assert "KeyboardInterrupt" in err and "Exception ignored in atexit" not in err, err
    assert wait_until(lambda: not _alive(descendants), 10), _alive(descendants)


LOST_SPAWNED_RANK_SCRIPT = """
    import subprocess, sys, time
    from core import MPICommandClient
    client = MPICommandClient(servers=2, print_output=False, session_log=False)
    client.start_services()
    # in this process's group, as a shell's job would be
    bystander = subprocess.Popen(["sleep", "120"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(client.get_server_status()[1]["pid"], bystander.pid, flush=True)
    sys.stdin.readline()  # the test has killed server 1's rank
    while not client.get_server_status()[1]["lost"]:
        time.sleep(0.05)
    try:
        client.restart_server(1).result(60)
    except RuntimeError as exc:
        print("restart:", exc, flush=True)
    client.stop_services()
    print("stopped", flush=True)
"""


@pytest.mark.skipif(OPEN_MPI, reason="MPICH's launcher: Open MPI's singleton starts prte, not mpiexec")
def test_a_spawned_rank_killed_leaves_its_client_and_the_client_s_process_group_alive(tmp_path):
    """MPICH's launcher kills its process group when a spawned rank dies unfinalized: started in
    a group of its own, it takes neither the client nor what shares the client's group with it."""
    script = script_file(tmp_path, LOST_SPAWNED_RANK_SCRIPT, "lost_spawned.py")
    with subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
                          start_new_session=True) as victim:
        rank_pid, bystander_pid = map(int, victim.stdout.readline().split())
        os.kill(rank_pid, signal.SIGKILL)
        out, err = victim.communicate("go\n", timeout=90)
    bystander_alive = psutil.pid_exists(bystander_pid)
    if bystander_alive:
        os.kill(bystander_pid, signal.SIGKILL)
    assert victim.returncode == 0, (victim.returncode, out, err)
    assert bystander_alive
    assert "restart: could not spawn a replacement for server 1: MPICH's launcher (mpiexec, pid " in out, out
    assert out.endswith("stopped\n") and "not finalizing MPI" in err


def _alive(pids: list[int]) -> list[int]:
    return [pid for pid in pids if psutil.pid_exists(pid)]


def _rank0_pid(mpiexec_pid: int) -> int:
    ranks = [p for p in psutil.Process(mpiexec_pid).children(recursive=True)
             if "victim.py" in " ".join(p.cmdline())]
    return min(ranks, key=lambda p: p.create_time()).pid


WORKER_FAULTS_UNDER_MPIEXEC = """
    from core import MPICommandClient
    client = MPICommandClient(print_output=False, session_log=False)
    client.start_services()
    client.push_command_request("state = 'kept'", block=True, target_server=[1, 2])
    for command in ("import ctypes; ctypes.string_at(0)", "import os; os._exit(3)",
                    "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"):
        [died] = client.push_command_request(command, block=True, target_server=1)
        [fresh] = client.push_command_request("'state' in globals()", block=True, target_server=1)
        print("died:", died["status"], died["traceback"].split(") ")[1].split(".")[0], "| fresh:", fresh["ret"],
              fresh["namespace_reset"])
    [other] = client.push_command_request("state", block=True, target_server=2)
    print("other:", other["ret"])
    client.stop_services()
"""


def test_worker_faults_are_survived_under_mpiexec_too(tmp_path):
    script = script_file(tmp_path, WORKER_FAULTS_UNDER_MPIEXEC, "faults.py")
    result = run_mpiexec(3, "-m", "core", str(script), timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "died: failed was killed by signal SIGSEGV | fresh: False True",
        "died: failed exited with code 3 | fresh: False True",
        "died: failed was killed by signal SIGKILL | fresh: False True",
        "other: kept",
    ]
