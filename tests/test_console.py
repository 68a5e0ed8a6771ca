"""Rank 0's client-side worker: client code and scripts that push to the real servers, isolated."""
from __future__ import annotations

import json
import logging
import time

import pytest

from core import MPICommandClient
from core.console.host import ConsoleHost
from core.events import CLIENT_RANK, ServerOutput
from mpi_helpers import recorded_events, run_python, script_file


@pytest.fixture(scope="module")
def console(client):
    host = ConsoleHost(client)
    yield host
    host.close()


def _run(console, code: str, timeout: float = 30) -> dict:
    return console.run(code).result(timeout)


def _origins(client, after: int) -> list[tuple[str | None, int | None, str]]:
    return [(r.origin, r.server, r.command) for r in client.commands if r.id > after]


def test_client_code_pushes_to_the_servers_and_its_commands_say_so(client, console):
    with recorded_events(client) as seen:
        response = _run(console, "from core import MPICommandClient, MPIEnvironment\n"
                                 "c = MPICommandClient()\n"
                                 "c.start_services()\n"
                                 "print('ranks', MPIEnvironment.mpi_server_rank_list())\n"
                                 "import logging; logging.getLogger('pipeline').warning('half way')\n"
                                 "answers = [r['ret'] for r in c.push_command_request('6 * 7', block=True,"
                                 " target_server=[1, 2])]")
    assert response["successful"] and response["server"] == CLIENT_RANK
    own = response["id"]
    assert _origins(client, own) == [("client", 1, "6 * 7"), ("client", 2, "6 * 7")]
    assert _run(console, "answers")["ret"] == [42, 42]
    items = [item for event in seen if isinstance(event, ServerOutput) and event.server == CLIENT_RANK
             for item in event.items]
    assert [(i.command_id, i.text) for i in items if hasattr(i, "text")] == [(own, "ranks [1, 2]\n")]
    assert [(i.command_id, i.level, i.logger, i.message) for i in items if hasattr(i, "level")] == [
        (own, logging.WARNING, "pipeline", "half way")]


def test_non_blocking_pushes_and_responses_through_the_proxy(client, console):
    _run(console, "ids = c.push_command_request('a + b', parameters={'a': 1, 'b': 2})")
    assert _run(console, "[r['ret'] for r in c.get_command_response(ids, block=True)]")["ret"] == [3]
    assert _run(console, "c.get_command_response(ids)[0]['id'] == ids[0]")["ret"] is True


def test_a_script_runs_with_its_arguments_and_marks_its_pushes_by_line(client, console, tmp_path):
    script = script_file(tmp_path, """\
        import sys
        from core import MPICommandClient
        client = MPICommandClient()
        ids = []
        for i in range(int(sys.argv[1])):
            ids += client.push_command_request(f'{i} * 2', target_server=[1, 2])
        client.get_command_response(ids, block=True)
        print('pushed', len(ids))
    """)
    response = _run(console, f"run_script({str(script)!r}, ['3'])")
    assert (response["status"], response["ret"]) == ("done", 0)
    pushed = _origins(client, response["id"])
    assert [origin for origin, _, _ in pushed] == ["script:6"] * 6
    assert sorted(server for _, server, _ in pushed) == [1, 1, 1, 2, 2, 2]


def test_client_code_moves_data_and_submits_through_the_proxy_as_it_would_on_rank_0(client, console):
    response = _run(console, """
from concurrent.futures import Future
from core import MPICommandClient, DataMoveError
c = MPICommandClient()
pushed = c.push({'shared': 5, 'label': 'x'})
pulled = c.pull('shared')
scattered = c.scatter('part', [1, 2, 3, 4, 5], targets=[2, 1])
gathered = c.gather('part')
later = c.pull(['shared', 'part'], targets=2, block=False)
one = c.submit('shared * 2', target=1)
both = c.submit('sum(part)', target=[1, 2], shown='the sum of my part')
try:
    c.pull('missing', targets=1)
except DataMoveError as exc:
    failed = str(exc)
try:
    c.pull('1bad', block=False)
except ValueError as exc:
    refused = str(exc)
event = c.get_command_response_event([f.command_id for f in both])
outcome = ([r['successful'] for r in pushed], pulled, [r['server'] for r in scattered], gathered,
           isinstance(later, Future), later.result(30), (one.command_id > 0, one.result(30)['ret']),
           [f.result(30)['ret'] for f in both], event.wait(30), failed, refused)
""")
    assert response["successful"], response["traceback"]
    first = response["id"]
    assert _run(console, "outcome")["ret"] == (
        [True, True], {1: 5, 2: 5}, [1, 2], [1, 2, 3, 4, 5], True, {2: {"shared": 5, "part": [4, 5]}}, (True, 10),
        [6, 9], True, "pull of 'missing' on server 1 failed: NameError: name 'missing' is not defined",
        "pull: variable name '1bad' is not a Python identifier")
    pushed = [r for r in client.commands if r.id > first and r.server != CLIENT_RANK]
    assert {r.origin for r in pushed} == {"client"}
    assert [r.shown for r in pushed if r.command == "sum(part)"] == ["the sum of my part"] * 2


def test_client_code_reaches_every_other_call_of_the_client(client, console, tmp_path):
    response = _run(console, f"""
from core import MPICommandClient
c = MPICommandClient()
ids = c.push_command_request('names_here = 1', target_server=[1, 2])
futures = c.command_futures(ids)
c.watch_namespaces(True)
c.push_command_request('watched = 2', block=True, target_server=1)
c.watch_namespaces(False)
summaries = c.request_namespace_summaries([2]).result(30)
restarted = c.restart_server(2).result(30)
saved = c.save_session({str(tmp_path / 'from-client.py')!r})
script = c.session_script(name='mine.py')
limit = c.result_memory
c.result_memory = 10_000_000
outcome = ([f.result(30)['status'] for f in futures], 'watched' in [n.name for n in c.namespace_summary(1).names],
           sorted(summaries), 'names_here' in [n.name for n in summaries[2]], restarted['state'],
           saved.exists(), 'python mine.py' in script and "'watched = 2'" in script, c.result_memory,
           c.result_memory_used >= 0, c.purge_results(ids) >= 0,
           c.isolation, c.log_level, c.log_mode, c.launch_mode, c.heartbeat_interval < c.heartbeat_timeout,
           c.server_nice, c.session_log_path == c.session_log_path, sorted(c.last_server_status()))
c.result_memory = limit
""")
    assert response["successful"], response["traceback"]
    assert _run(console, "outcome")["ret"] == (
        ["done", "done"], True, [2], True, "idle", True, True, 10_000_000, True, True, "process", 20, "redirect",
        "spawn", True, 0, True, [1, 2])
    assert client.result_memory == _run(console, "limit")["ret"]


def test_the_proxy_answers_every_public_name_of_the_client_or_refuses_it_by_name():
    """Code typed for the Client target gets the client's whole API in the client-side worker."""
    import inspect
    from core.console import proxy
    real = MPICommandClient(print_output=False, session_log=False)
    names = {n for n in [*dir(MPICommandClient), *vars(real)] if not n.startswith("_")}
    offered = {n for n in dir(proxy.MPICommandClient) if not n.startswith("_")}
    assert (sorted(names - offered), sorted(offered - names)) == ([], [])
    members = {n: inspect.getattr_static(proxy.MPICommandClient, n) for n in names}
    refused = sorted(n for n, member in members.items() if getattr(member, "fget", member).__name__ == "refuse")
    assert refused == ["close_local_command", "commands", "open_local_command", "publish", "start_local_command"]
    for name in refused:
        with pytest.raises(proxy.UnavailableCallError, match=f"^MPICommandClient.{name} is not available in rank 0's "
                                                             f"client-side worker: "):
            member = getattr(proxy.MPICommandClient(), name)
            member()
    for name in sorted(names - set(refused)):
        ours, theirs = (inspect.getattr_static(cls, name, None) for cls in (proxy.MPICommandClient, MPICommandClient))
        if callable(ours) and callable(theirs):
            assert _parameters(ours) == _parameters(theirs), name


def _parameters(function) -> list[tuple]:
    """What a caller may pass: the parameters but `origin` (the proxy records it itself) and private ones."""
    import inspect
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()
            if p.name != "origin" and not p.name.startswith("_")]


def test_a_failing_script_shows_its_exit_status_or_a_traceback_that_starts_in_it(console, tmp_path):
    exits = script_file(tmp_path, "import sys\nsys.exit(3)\n", "exits.py")
    raises = script_file(tmp_path, "def step():\n    raise ValueError('bad input')\nstep()\n", "raises.py")
    status = _run(console, f"run_script({str(exits)!r})")
    assert (status["status"], status["traceback"].splitlines()[-1]) == ("failed", "SystemExit: 3")
    failed = _run(console, f"run_script({str(raises)!r})")
    lines = failed["traceback"].splitlines()
    assert lines[-1] == "ValueError: bad input"
    assert f'File "{raises}", line 3, in <module>' in failed["traceback"]
    assert "runpy" not in failed["traceback"]


def test_a_refused_push_raises_in_the_client_code_as_it_would_in_a_script(client, console):
    response = _run(console, "c.push_command_request('1', target_server=7)")
    assert response["status"] == "failed"
    assert response["traceback"].splitlines()[-1] == (
        "ValueError: target_server 7 is not a server; the servers are 1, 2")
    assert _run(console, "c.server_ranks()")["ret"] == [1, 2]


def test_a_call_rank_0_does_not_answer_is_one_clear_error_in_the_client_code(client, console):
    response = _run(console, "from core.console import proxy\nproxy._call('no_such_call', 1)")
    assert response["traceback"].splitlines()[-1] == (
        "LookupError: rank 0 answers no call 'no_such_call' of its client-side worker")
    assert _run(console, "c.server_ranks()")["ret"] == [1, 2]


def test_a_segfault_in_client_code_costs_the_worker_only(client, console):
    _run(console, "kept = 1")
    old = console.worker.pid
    response = _run(console, "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")
    assert response["status"] == "failed" and response["namespace_reset"] is True
    assert response["traceback"] == (
        f"The client-side worker process (pid {old}) was killed by signal SIGSEGV. Its namespace is lost; "
        "a fresh worker has started. The window and the servers are unaffected.\n")
    after = _run(console, "'kept' in dir()")
    assert (after["ret"], after["namespace_reset"]) == (False, True)
    assert client.push_command_request("1 + 1", block=True, target_server=1)[0]["ret"] == 2


def test_an_endless_loop_and_a_blocked_call_are_interrupted(client, console):
    loop = console.run("while True:\n    pass")
    _wait_running(client, loop.command_id)
    console.interrupt()
    response = loop.result(10)
    assert response["status"] == "interrupted" and response["traceback"].rstrip().endswith("KeyboardInterrupt")
    blocked = console.run("from core import MPICommandClient\n"
                          "c = MPICommandClient()\n"
                          "c.push_command_request('import time; time.sleep(60)', block=True, target_server=2)")
    _wait_running(client, blocked.command_id)
    _wait_for(lambda: any(r.origin == "client" and "sleep(60)" in r.command and r.status == "running"
                          for r in client.commands))
    console.interrupt()
    assert blocked.result(10)["status"] == "interrupted"
    client.interrupt(server=2)
    assert _run(console, "c.push_command_request('5', block=True, target_server=1)[0]['ret']")["ret"] == 5


def test_interrupting_a_loop_of_proxied_calls_leaves_the_channel_working(client, console):
    """Each interrupt lands somewhere in a call: in its wait (raised), or in reading or handing over
    a frame (held until that is through); never leaving a half-read frame or a stuck reader
    (an interrupt held while a thread claimed the reading left it claimed: 2 runs in 9 hung)."""
    for _ in range(20):
        loop = console.run("from core import MPICommandClient\nc = MPICommandClient()\n"
                           "while True:\n    c.server_ranks()")
        _wait_running(client, loop.command_id)
        console.interrupt()
        assert loop.result(10)["status"] == "interrupted"
        assert _run(console, "c.server_ranks()")["ret"] == [1, 2]


def test_calls_from_several_threads_each_get_their_own_answer(client, console):
    response = _run(console, """
import threading
from core import MPICommandClient
c = MPICommandClient()
slow = []
thread = threading.Thread(target=lambda: slow.extend(
    c.push_command_request("__import__('time').sleep(0.5) or 'slow'", block=True, target_server=1)))
thread.start()
fast = [c.push_command_request(f'{i} * 3', block=True, target_server=2)[0]['ret'] for i in range(20)]
thread.join()
outcome = (fast, [r['ret'] for r in slow])
""")
    assert response["successful"], response["traceback"]
    assert _run(console, "outcome")["ret"] == ([i * 3 for i in range(20)], ["slow"])


def test_a_subscriber_that_needs_its_callers_lock_waits_for_it_instead_of_deadlocking(console):
    response = _run(console, """
import threading, time
from core import MPICommandClient
c = MPICommandClient()
lock = threading.Lock()
seen = []
def note(event):
    with lock:
        seen.append(type(event).__name__)
stop = c.subscribe(note)
with lock:  # events come while this thread holds the lock and waits for its answer
    answers = [c.push_command_request('2 + 2', block=True, target_server=1)[0]['ret'] for _ in range(5)]
deadline = time.monotonic() + 10
while seen.count('CommandFinished') < 5 and time.monotonic() < deadline:
    time.sleep(0.01)
stop()
outcome = (answers, seen.count('CommandStarted'), seen.count('CommandFinished'))
""")
    assert response["successful"], response["traceback"]
    assert _run(console, "outcome")["ret"] == ([4] * 5, 5, 5)


def test_a_call_that_times_out_leaves_the_channel_working(console):
    response = _run(console, """
from core import MPICommandClient
c = MPICommandClient()
ids = c.push_command_request("__import__('time').sleep(0.5) or 'late'", target_server=1)
try:
    c.get_command_response(ids, block=True, timeout=0.1)
    waited = 'answered'
except TimeoutError as exc:
    waited = str(exc)
outcome = (waited, c.push_command_request('7', block=True, target_server=2)[0]['ret'],
           c.get_command_response(ids, block=True)[0]['ret'])
""")
    assert response["successful"], response["traceback"]
    assert _run(console, "outcome")["ret"] == ("get_command_response did not return within 0.1 s", 7, "late")


def _wait_running(client, command_id: int) -> None:
    record = next(r for r in client.commands if r.id == command_id)
    _wait_for(lambda: record.status == "running")


def _wait_for(condition, timeout: float = 10) -> None:
    """Poll `condition` (the client's records change on its progress thread, with no event)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.01)


def test_a_mixed_session_is_logged_in_order_and_replays_headless(tmp_path):
    log = tmp_path / "mixed.jsonl"
    with MPICommandClient(servers=2, print_output=False, session_log=log) as mixed:
        console = ConsoleHost(mixed)
        mixed.push_command_request("base = 10", block=True, target_server=[1, 2])
        # Ending in the push itself, its value would be the responses, whose times no replay matches.
        console.run("from core import MPICommandClient\nc = MPICommandClient()\n"
                    "pushed = c.push_command_request('base += 1', block=True, target_server=1)").result(30)
        mixed.push_command_request("base", block=True, target_server=1)
        console.run("c.push_command_request('base', block=True, target_server=2)[0]['ret']").result(30)
        saved = mixed.save_session(tmp_path / "mixed.py")
        console.close()
    queued = [json.loads(line) for line in log.read_text().splitlines() if '"queued"' in line]
    assert [(q["target"], q["origin"]) for q in queued] == [
        ([1, 2], None), ([1, 2], None), (0, None), (1, "client"), (1, None), (0, None), (2, "client")]
    text = saved.read_text()
    assert "console = ConsoleHost(client)" in text and "'base += 1'" in text
    assert "client.push_command_request('base += 1'" not in text
    for session in (log, saved):
        replayed = run_python("-m", "core.replay", str(session), "--check", timeout=180)
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
        if session == log:
            assert "4 command(s) replayed; 0 result(s) differ" in replayed.stdout, replayed.stdout

