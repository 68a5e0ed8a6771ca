"""Attaching over ssh to a headless session, with a real sshd on localhost (fixture `sshd`): programs
steer it through `core.attach('ssh://...')` and a bridge on the far side; the ssh process is killed
in a flood of output and in a burst of commands, and stopped (a stalled link), and the frontend
comes back with the session's exact history and no line twice; each way ssh can fail is one clear
message; a bridge of another version, and a session that ended meanwhile, are said by name.

The far side runs this tree (ssh carries no environment: the far side's Python is `env
PYTHONPATH=... XDG_RUNTIME_DIR=... python`, passed as remote_python) and finds the session in the
session's runtime directory."""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

import core
from benchmarks.measurement import flood_command
from core.events import ServerOutput
from core.frontends.endpoints import SessionGoneError
from core.frontends.ssh import SshError
from core.wire.link import DEAD_AFTER, RefusedError
from mpi_helpers import REPO, logged_history, replica_history, serving
from services import SshLogin
from xvfb_display import wait_until

TIMEOUT = 120
SERVERS = 4
FLOOD_RATE = 50_000
"""Lines a second each server prints in the flood."""

class FarSide:
    """A session's machine as the frontends reach it: the ssh command of the test's own config, and
    the far side's Python, which runs `tree` and finds the sessions of a runtime directory."""

    def __init__(self, login: SshLogin, runtime: Path, tree: Path = REPO):
        self.login = login
        self.runtime = runtime
        self.ssh = login.ssh
        self.python = login.far_python(runtime, tree)

    def attach(self, session: str | None = None, **options) -> core.AttachedClient:
        return core.attach(f"ssh://{SshLogin.HOST}" + (f"/{session}" if session else ""),
                           remote_python=options.pop("remote_python", self.python),
                           ssh=options.pop("ssh", self.ssh), **options)


@dataclass
class Headless:
    """`python -m core --serve` (`mpi_helpers.serving`) and the far side that reaches it."""

    process: subprocess.Popen
    session: str
    far: FarSide
    directory: Path

    def log(self) -> str:
        return (self.directory / "session.err").read_text()


@contextlib.contextmanager
def headless_session(sshd: SshLogin, directory: Path, servers: int):
    with serving(directory, servers) as (process, session, env):
        yield Headless(process, session, FarSide(sshd, Path(env["XDG_RUNTIME_DIR"])), directory)


@pytest.fixture(scope="module")
def headless(sshd, tmp_path_factory):
    with headless_session(sshd, tmp_path_factory.mktemp("headless"), SERVERS) as session:
        yield session


@pytest.fixture(scope="module")
def far(headless):
    return headless.far


def _settled_as_logged(client) -> list[list]:
    """Wait until every command has finished and the replica's history is the session log's; that history."""
    log = client.info.session_log_path
    assert client.replica.wait_for(lambda model: all(e.response is not None for e in model.history.values()),
                                   TIMEOUT)
    assert wait_until(lambda: replica_history(client) == logged_history(log), 30), (replica_history(client)[-3:],
                                                                                    logged_history(log)[-3:])
    return replica_history(client)


class LinkStates:
    """The link states a client went through, to wait for."""

    def __init__(self, client) -> None:
        self.client = client
        self.heard = [client.link_state]
        self._changed = threading.Condition()
        client.watch_link(self._heard)

    def _heard(self, state: str) -> None:
        with self._changed:
            self.heard.append(state)
            self._changed.notify_all()

    def wait_for(self, predicate, timeout: float = TIMEOUT) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self.heard), timeout)


def _ssh_of(client) -> psutil.Process:
    return psutil.Process(client.frontend.endpoint.process.pid)


def _resume(stalled: psutil.Process) -> None:
    """Let a stopped ssh go on, unless the frontend has killed it already (the link was dead)."""
    try:
        stalled.resume()
    except psutil.NoSuchProcess:
        pass


def test_a_program_attaches_over_ssh_steers_the_session_and_detaches(far, headless):
    with far.attach(headless.session) as client:
        assert client.session_id == headless.session and client.server_ranks() == [1, 2, 3, 4]
        responses = client.push_command_request("6 * 7", block=True, target_server=[1, 2, 3, 4])
        assert [r["ret"] for r in responses] == [42] * 4
        assert _settled_as_logged(client)[-1][4] == client.frontend.label
    assert wait_until(lambda: f"frontend {client.frontend.label} " in headless.log()
                      and "detached" in headless.log().split(client.frontend.label)[-1], 30), headless.log()
    assert headless.process.poll() is None


def test_with_no_session_id_the_only_session_there_is_taken_and_two_are_listed(far, headless):
    with far.attach() as client:
        assert client.session_id == headless.session
    other = far.runtime / "mpipanel" / "0badf00d.json"
    fields = json.loads((far.runtime / "mpipanel" / f"{headless.session}.json").read_text())
    fd = os.open(other, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        json.dump({**fields, "session": "0badf00d", "pid": os.getpid(), "started": time.time() + 1}, file)
    try:
        with pytest.raises(RefusedError, match=rf"several sessions run on \S+: {headless.session} \(serve, 4 "
                                               r"server\(s\)\), 0badf00d .*; name one"):
            far.attach()
    finally:
        other.unlink()


def _numbered(lines_by_server: dict[int, list[str]]) -> dict[int, list[int]]:
    return {server: [int(found[1]) for line in lines if (found := re.fullmatch(r"flood line (\d+)", line))]
            for server, lines in lines_by_server.items()}


def _rising(numbers: list[int]) -> bool:
    return all(a < b for a, b in zip(numbers, numbers[1:]))


def test_killing_ssh_in_an_output_flood_loses_nothing_and_shows_no_line_twice(far, headless):
    with far.attach(headless.session) as client:
        states = LinkStates(client)
        received: dict[int, list[str]] = {rank: [] for rank in client.server_ranks()}
        client.subscribe(lambda event: isinstance(event, ServerOutput) and received[event.server].extend(
            line for item in event.items for line in getattr(item, "text", "").splitlines()))
        ids = client.push_command_request(flood_command(6, FLOOD_RATE), target_server=[1, 2, 3, 4])
        assert wait_until(lambda: sum(map(len, received.values())) > 10_000, TIMEOUT)
        first_ssh = _ssh_of(client)
        first_ssh.kill()
        before = sum(map(len, received.values()))
        assert states.wait_for(lambda heard: heard[-1] == "up" and any(s.startswith("down: ") for s in heard))
        assert client.frontend.endpoint.process.pid != first_ssh.pid
        responses = client.get_command_response(ids, block=True, timeout=TIMEOUT)
        assert all(r["successful"] for r in responses)
        _settled_as_logged(client)
        assert client.replica.snapshots == 1, "resumed from the session's journal, after its last event"
        assert sum(map(len, received.values())) > before
        shown = client.read(lambda model: {rank: "".join(item.text for item in model.output[rank].items).splitlines()
                                           for rank in client.server_ranks()})
    for rank, numbers in _numbered(received).items():
        assert len(numbers) > 100 and _rising(numbers), f"server {rank}: a line twice or out of order"
    assert all(_rising(numbers) for numbers in _numbered(shown).values())
    assert headless.process.poll() is None


def test_killing_ssh_in_a_burst_of_a_thousand_commands_loses_none_and_runs_none_twice(far, headless):
    with far.attach(headless.session) as client:
        states = LinkStates(client)
        acknowledged, failed = [], []

        def burst() -> None:
            for index in range(1000):
                try:
                    acknowledged.extend(client.push_command_request(f"'burst {index}'", target_server=1 + index % 4))
                except ConnectionError:  # sent while the link dropped: it may have run, the history says
                    failed.append(index)
                    if not wait_until(lambda: client.link_state == "up", TIMEOUT):
                        return

        sender = threading.Thread(target=burst)
        sender.start()
        assert wait_until(lambda: len(acknowledged) >= 300, TIMEOUT)
        _ssh_of(client).kill()
        sender.join(TIMEOUT)
        drops = sum(state.startswith("down: ") for state in states.heard)
        assert drops >= 1 and states.heard[-1] == "up", states.heard
        client.get_command_response(acknowledged, block=True, timeout=TIMEOUT)
        history = _settled_as_logged(client)
        assert client.replica.snapshots == 1
    burst = [command for _, command, _, _, _ in history if command.startswith("'burst ")]
    assert len(acknowledged) + len(failed) == 1000 and len(burst) == len(set(burst)) >= len(acknowledged)
    assert len(failed) <= drops, f"only a command in flight when the link dropped fails: {failed}, {states.heard}"


def test_a_stalled_ssh_is_noticed_within_seconds_and_the_session_never_notices(far, headless):
    servers = sorted(p.pid for p in psutil.Process(headless.process.pid).children(recursive=True))
    with far.attach(headless.session) as client, far.attach(headless.session) as other:
        states = LinkStates(client)
        stalled = _ssh_of(client)
        stalled.suspend()
        stopped_at = time.monotonic()
        try:
            assert states.wait_for(lambda heard: heard[-1].startswith("down: "), DEAD_AFTER + 10)
            noticed = time.monotonic() - stopped_at
            assert states.heard[-1] == f"down: nothing came for {DEAD_AFTER:g} s, not even a heartbeat"
            other.push_command_request("'while the other was stalled'", block=True, target_server=2)
            assert states.wait_for(lambda heard: heard[-1] == "up")
        finally:
            _resume(stalled)
        assert noticed < DEAD_AFTER + 3
        assert _settled_as_logged(client)[-1][1] == "'while the other was stalled'"
    assert wait_until(lambda: not stalled.is_running() or stalled.status() == psutil.STATUS_ZOMBIE, 10)
    assert sorted(p.pid for p in psutil.Process(headless.process.pid).children(recursive=True)) == servers


# ----- ssh failures: each one message, at once -------------------------------------------------
def _refusal(far: FarSide, session: str, **options) -> str:
    started = time.monotonic()
    with pytest.raises(SshError) as raised:
        far.attach(session, **options)
    assert time.monotonic() - started < 30
    return str(raised.value)


def test_an_unknown_host_key_says_how_to_add_it(far, headless, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.touch()
    login = far.login.changed("unknown-host-key", known_hosts=empty)
    message = _refusal(far, headless.session, ssh=["ssh", "-F", str(login.config)])
    assert message.startswith(f"ssh does not know the host key of {SshLogin.HOST}, and mpipanel's ssh never asks")
    assert f"`ssh {SshLogin.HOST}` in a terminal" in message


def test_a_key_the_host_does_not_take_says_no_password_is_asked(far, headless, tmp_path):
    wrong_key = tmp_path / "wrong_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(wrong_key)], check=True)
    login = far.login.changed("wrong-key", key=wrong_key)
    message = _refusal(far, headless.session, ssh=["ssh", "-F", str(login.config)])
    assert message.startswith(f"{SshLogin.HOST} refused the login (it takes: publickey)")


def test_nothing_listening_and_an_unknown_host_say_so(far, headless):
    with pytest.raises(SshError, match=r"^nothing listens for ssh on 127\.0\.0\.1 port 2223 \(connection refused\)"):
        core.attach(f"ssh://{SshLogin.HOST}:2223/{headless.session}", remote_python=far.python, ssh=far.ssh)
    with pytest.raises(SshError, match=r"^ssh cannot find the host no-such-node\.invalid"):
        core.attach(f"ssh://no-such-node.invalid/{headless.session}", remote_python=far.python, ssh=far.ssh)


def test_a_far_side_without_mpipanel_names_its_python_and_remote_python(far, headless):
    message = _refusal(far, headless.session, remote_python="/usr/bin/python3")
    assert message == (f"mpipanel is not installed for /usr/bin/python3 on {SshLogin.HOST}; pass --remote-python "
                       f"(or set $MPIPANEL_REMOTE_PYTHON) to the interpreter of an environment that has it, e.g. "
                       f"--remote-python ~/venvs/mpipanel/bin/python")
    assert _refusal(far, headless.session, remote_python="/opt/nowhere/bin/python").startswith(
        f"there is no /opt/nowhere/bin/python on {SshLogin.HOST}")


def test_a_bridge_of_another_version_is_refused_naming_both(far, headless, tmp_path):
    other = tmp_path / "other-version"
    shutil.copytree(REPO / "core", other / "core", ignore=shutil.ignore_patterns("__pycache__"))
    init = other / "core" / "__init__.py"
    init.write_text(init.read_text().replace(f'__version__ = "{core.__version__}"', '__version__ = "9.9.9"'))
    with pytest.raises(RefusedError) as refused:
        far.attach(headless.session, remote_python=FarSide(far.login, far.runtime, other).python)
    assert re.fullmatch(rf"the bridge on \S+ \({re.escape(sys.executable)}\) runs mpipanel 9\.9\.9, this frontend "
                        rf"is {re.escape(core.__version__)}", str(refused.value)), refused.value


# ----- sessions that end ---------------------------------------------------------------------------
def test_a_session_that_ended_while_the_link_was_down_is_reported_ended_with_its_log(sshd, tmp_path):
    with headless_session(sshd, tmp_path, 1) as session:
        client = session.far.attach(session.session)
        states = LinkStates(client)
        client.push_command_request("'before the end'", block=True, target_server=1)
        log_path = client.info.session_log_path
        stalled = _ssh_of(client)
        stalled.suspend()
        try:
            session.process.send_signal(signal.SIGTERM)
            assert session.process.wait(TIMEOUT) == 0
            assert states.wait_for(lambda heard: heard[-1].startswith("ended: "), DEAD_AFTER + 30)
        finally:
            _resume(stalled)
    assert states.heard[-1] == (f"ended: while this frontend was away: no such session: {session.session} on "
                                f"{os.uname().nodename} (none runs there); its session log: {log_path}")
    assert client.session_log() == Path(log_path).read_text()
    client.detach()


def test_a_session_whose_process_is_gone_is_answered_session_ended_by_the_bridge(far, headless):
    gone = subprocess.Popen(["true"])
    gone.wait()
    fields = json.loads((far.runtime / "mpipanel" / f"{headless.session}.json").read_text())
    stale = far.runtime / "mpipanel" / "0dead0ff.json"
    fd = os.open(stale, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        json.dump({**fields, "session": "0dead0ff", "pid": gone.pid}, file)
    with pytest.raises(SessionGoneError) as ended:
        far.attach("0dead0ff")
    assert str(ended.value) == (f"session ended: 0dead0ff on {os.uname().nodename} (its process, pid {gone.pid}, "
                                f"is gone); its session log: {fields['session_log']}")
    assert ended.value.answer["session_log"] == fields["session_log"] and not stale.exists()
