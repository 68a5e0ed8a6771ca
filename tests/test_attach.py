"""Sessions that outlive their programs: `python -m core --serve` and `--listen` as real processes,
programs attaching with `core.attach`, detaching, coming back, being killed; the history every
frontend sees is the session log's."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

import core
from core.events import CLIENT_RANK
from core.sessions.recorded import read_session
from mpi_helpers import logged_history, read_line, replica_history, script_file, serving, wait_for_no_servers

TIMEOUT = 120

FRONTEND = """
import json, sys
import core
client = core.attach(sys.argv[1])
print("attached", flush=True)
marker = sys.argv[2]
done = lambda model: any(e.command == marker and e.response is not None for e in model.history.values())
assert client.replica.wait_for(done, 300), "the marker never came"
print(json.dumps(client.read(lambda model: [[e.id, e.command, e.server, str(e.status), e.origin]
                                            for e in model.history.values()])), flush=True)
client.detach()
"""

PROGRAM = """
import sys
import core
with core.attach(sys.argv[1]) as client:
    ids = []
    for index in range(10):
        ids += client.push_command_request(f"total = {index} * 2", target_server=[1 + index % 4])
    responses = client.get_command_response(ids, block=True, timeout=60)
    print(sum(r["successful"] for r in responses), client.frontend.label)
"""


@pytest.fixture(scope="module")
def headless(tmp_path_factory):
    """A headless session with four servers, shared by this module's tests."""
    tmp = tmp_path_factory.mktemp("headless")
    with serving(tmp, 4) as (process, session, env):
        yield process, session, env, tmp
    assert wait_for_no_servers()


def _frontend(env: dict, session: str, marker: str) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", FRONTEND, session, marker], stdout=subprocess.PIPE, text=True,
                               env=env, cwd="/")
    assert read_line(process).strip() == "attached"
    return process


def _settled(client) -> None:
    """Wait until every command the replica knows has finished."""
    assert client.replica.wait_for(lambda model: all(e.response is not None for e in model.history.values()),
                                   TIMEOUT)


def test_a_program_attaches_sends_commands_and_detaches_and_another_goes_on(headless):
    process, session, env, tmp = headless
    for _ in range(2):
        ran = subprocess.run([sys.executable, "-c", PROGRAM, session], capture_output=True, text=True, env=env,
                             timeout=TIMEOUT, cwd="/")
        assert ran.returncode == 0, ran.stderr
        count, label = ran.stdout.split()
        assert count == "10" and label.startswith("attached:")
    assert process.poll() is None  # the session goes on


def test_reattaching_shows_a_history_equal_to_the_session_log_which_reads_back_for_a_replay(headless):
    process, session, env, tmp = headless
    with core.attach(session) as client:
        client.push({"moved": [1, 2]}, targets=[1, 2])
        client.push_command_request("6 * 7", block=True, target_server=CLIENT_RANK)
        client.push_command_request("'seen by the next one'", block=True, target_server=3, shown="seen")
    with core.attach(session) as client:
        _settled(client)
        assert replica_history(client) == logged_history(client.info.session_log_path)
        assert replica_history(client)[-1][1] == "'seen by the next one'"
        header, pushes = read_session(client.info.session_log_path)  # the file checks take what it wrote
    assert [(p.command, p.target, p.shown) for p in pushes[-3:]] == [
        ("pass  # push: moved", [1, 2], None), ("6 * 7", CLIENT_RANK, None), ("'seen by the next one'", 3, "seen")]


def test_two_frontends_see_a_thousand_commands_as_the_log_has_them(headless):
    process, session, env, tmp = headless
    watcher = _frontend(env, session, "'end of the thousand'")
    with core.attach(session) as client:
        ids = []
        for index in range(1000):
            ids += client.push_command_request(f"{index} + 1", target_server=None if index % 3 else [1 + index % 4])
        client.get_command_response(ids, block=True, timeout=TIMEOUT)
        client.push_command_request("'end of the thousand'", block=True, target_server=2)
        _settled(client)
        mine = replica_history(client)
        logged = logged_history(client.info.session_log_path)
    theirs = json.loads(read_line(watcher))
    assert watcher.wait(TIMEOUT) == 0
    assert mine == logged and theirs == logged
    assert {origin for command_id, _, _, _, origin in logged if command_id in ids} == {client.frontend.label}


def test_a_frontend_killed_with_sigkill_leaves_the_session_and_the_others_unaffected(headless):
    process, session, env, tmp = headless
    with core.attach(session) as client:
        doomed = _frontend(env, session, "'never sent'")
        doomed.kill()
        doomed.wait(TIMEOUT)
        responses = client.push_command_request("6 * 7", block=True, target_server=[1, 2, 3, 4])
        assert [r["ret"] for r in responses] == [42] * 4 and client.link_state == "up"
    assert process.poll() is None


def test_a_result_the_frontend_cannot_rebuild_fails_alone(headless):
    process, session, env, tmp = headless
    (tmp / "sessiononly.py").write_text("class Thing:\n    pass\n")  # in the session's directory, not ours
    with core.attach(session) as client:
        [odd] = client.push_command_request("__import__('sessiononly').Thing()", True, 1)
        [plain] = client.push_command_request("'fine'", True, 1)
    assert odd["status"] == "done" and odd["ret"] is None
    assert odd["ret_dropped"]["reason"] == "unrebuilt" and "sessiononly" in odd["ret_dropped"]["summary"]["repr"]
    assert plain["ret"] == "fine"


def test_a_stale_connection_file_is_listed_as_stale_and_removed(headless):
    process, session, env, tmp = headless
    dead = subprocess.Popen(["true"])
    dead.wait()
    runtime = Path(env["XDG_RUNTIME_DIR"]) / "mpipanel"
    live = json.loads((runtime / f"{session}.json").read_text())
    stale = runtime / "0badc0de.json"
    fd = os.open(stale, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        json.dump({**live, "session": "0badc0de", "pid": dead.pid, "socket": str(runtime / "0badc0de.sock")}, file)
    listed = subprocess.run([sys.executable, "-m", "core", "--sessions"], capture_output=True, text=True, env=env,
                            timeout=TIMEOUT)
    lines = listed.stdout.splitlines()
    assert any(line.startswith(f"{session}  serve, 4 server(s)") for line in lines), lines
    assert any(line.startswith("0badc0de  stale") for line in lines) and not stale.exists()
    again = subprocess.run([sys.executable, "-m", "core", "--sessions", "--json"], capture_output=True, text=True,
                           env=env, timeout=TIMEOUT)
    assert [row["session"] for row in json.loads(again.stdout)] == [session]
    assert "key" not in again.stdout


def _family(process: subprocess.Popen) -> list[int]:
    """The pids of a session's process and of every process it started (servers, workers)."""
    return [process.pid, *(child.pid for child in psutil.Process(process.pid).children(recursive=True))]


def test_a_session_that_ends_tells_its_frontends(tmp_path):
    with serving(tmp_path, 1) as (process, session, env):
        client = core.attach(session)
        family = _family(process)
        process.send_signal(signal.SIGTERM)
        assert process.wait(TIMEOUT) == 0
        assert client.replica.wait_for(lambda model: model.ended is not None, TIMEOUT)
        assert client.link_state == "ended: stopped by SIGTERM"
        client.detach()
    assert wait_for_no_servers(family)


LINGERING = """
from core import MPICommandClient
client = MPICommandClient(servers=2)
client.start_services()
client.push_command_request("answer = 42", block=True, target_server=[1, 2])
client.stop_services()
print("the script is done", flush=True)
"""


def test_a_listening_program_lingers_for_frontends_then_ends(tmp_path):
    script = script_file(tmp_path, LINGERING)
    with serving(tmp_path, 2, "--listen", "--linger", "0.25", str(script)) as (process, _, env):
        assert read_line(process).strip() == "the script is done"
        family = _family(process)
        with core.attach() as client:
            assert client.info.kind == "listen" and client.info.program == str(script)
            [response] = client.push_command_request("answer", block=True, target_server=2)
            assert response["ret"] == 42
            assert client.replica.wait_for(lambda model: model.ended is not None, TIMEOUT)
            assert client.link_state == "ended: its linger of 0.25 minute(s) ended"
        assert process.wait(TIMEOUT) == 0
    assert "the program ended (status 0)" in (tmp_path / "session.err").read_text()
    assert wait_for_no_servers(family)


def test_sigterm_stops_a_headless_session_with_nothing_left_behind(tmp_path):
    with serving(tmp_path, 2) as (process, session, env):
        family = _family(process)
        process.send_signal(signal.SIGTERM)
        assert process.wait(TIMEOUT) == 0
    assert len(family) >= 5 and wait_for_no_servers(family)  # the session, 2 ranks, 2 workers
