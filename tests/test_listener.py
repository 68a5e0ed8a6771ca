"""A listening session on real spawned servers: frontends of other processes attach over its socket;
bad peers are refused or dropped, each logged in one line, and the session and its frontends go on."""
from __future__ import annotations

import contextlib
import json
import logging
import os
import pickle
import socket
import struct
import subprocess
import textwrap
import threading

import pytest

from core import __version__
from core.frontends import connection_files
from core.frontends.listener import Listener
from core.frontends.remote import RemoteFrontend
from core.frontends.replica import Replica
from core.wire.link import HANDSHAKE_TIMEOUT, MAGIC, MAX_FRAME, PROTOCOL, REFUSAL, encode_hello
from mpi_helpers import listening_session, private_runtime_dir

TIMEOUT = 60
NOBODY = 65534


@pytest.fixture(scope="module")
def session():
    """A listening session with two servers, and a frontend attached over its socket."""
    with private_runtime_dir(), listening_session(2) as (host, listener):
        frontend, replica = _attach(host.info.session_id)
        yield host, listener, frontend, replica
        frontend.detach()


def _attach(target, label: str | None = None) -> tuple[RemoteFrontend, Replica]:
    frontend, replica = RemoteFrontend(target, label), Replica()
    frontend.open(replica.on_snapshot, replica.on_events)
    assert replica.wait_for(lambda model: True, TIMEOUT)
    return frontend, replica


def _still_serving(frontend: RemoteFrontend, replica: Replica) -> None:
    """The session answers its attached frontend, whose replica follows."""
    [future] = frontend.submit("21 * 2", [1])
    response = future.result(TIMEOUT)
    assert response["ret"] == 42
    assert replica.wait_for(lambda model: model.history[future.command_id].status == "done", TIMEOUT)


@contextlib.contextmanager
def _peer(listener: Listener):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(TIMEOUT)
    sock.connect(str(listener.socket_path))
    try:
        yield sock
    finally:
        sock.close()


def _preface(key: bytes) -> bytes:
    return MAGIC + bytes([PROTOCOL]) + key


def _hello(version: str = __version__) -> bytes:
    return encode_hello({"mpipanel": version, "label": "attached:test:1", "kind": "program", "resume_after": None})


def _answer(sock: socket.socket) -> dict:
    size = struct.unpack("!I", _read(sock, 4))[0]
    return json.loads(_read(sock, size))


def _read(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _shaken(listener: Listener) -> contextlib.AbstractContextManager[socket.socket]:
    """A peer that passed the hand-shake."""
    @contextlib.contextmanager
    def shaken():
        with _peer(listener) as sock:
            sock.sendall(_preface(listener.key) + _hello())
            assert _answer(sock)["ok"]
            yield sock
    return shaken()


class SessionLog(logging.Handler):
    """The records of logger `mpipanel.session`, to wait for."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []
        self.changed = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        with self.changed:
            self.records.append(record)
            self.changed.notify_all()

    def warnings(self) -> list[str]:
        return [record.getMessage() for record in self.records if record.levelno >= logging.WARNING]

    def one_warning(self, *words: str) -> str:
        """Wait for the peer's warning; it is one line, and names what went wrong."""
        with self.changed:
            assert self.changed.wait_for(self.warnings, TIMEOUT), "nothing was logged"
        lines = self.warnings()
        assert len(lines) == 1, lines
        assert "\n" not in lines[0] and all(word in lines[0] for word in words), lines[0]
        return lines[0]


@pytest.fixture
def log():
    handler = SessionLog()
    logger = logging.getLogger("mpipanel.session")
    logger.addHandler(handler)
    level, logger.level = logger.level, logging.INFO
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_a_program_attaches_sees_the_history_and_detaches(session):
    host, listener, frontend, replica = session
    _still_serving(frontend, replica)
    other, copy = _attach(listener.connection_file, "attached:other:2")
    assert copy.read(lambda model: list(model.history)) == replica.read(lambda model: list(model.history))
    other.detach()
    assert other.state == "detached"
    _still_serving(frontend, replica)


def test_the_connection_file_is_private_and_lists_the_session(session):
    host, listener, _, _ = session
    assert (listener.connection_file.stat().st_mode & 0o777) == 0o600
    assert (listener.connection_file.parent.stat().st_mode & 0o777) == 0o700
    live, stale = connection_files.sessions()
    [entry] = [e for e in live if e.session == host.info.session_id]
    assert (entry.pid, entry.servers, entry.kind, entry.mpipanel) == (os.getpid(), [1, 2], "serve", __version__)


def test_a_wrong_key_is_refused_and_logged_in_one_line(session, log):
    host, listener, frontend, replica = session
    with _peer(listener) as sock:
        sock.sendall(_preface(bytes(32)) + _hello())
        assert _read(sock, len(REFUSAL)) == REFUSAL and _read(sock, 1) == b""
    log.one_warning("refused a frontend", "wrong key")
    _still_serving(frontend, replica)


def test_garbage_is_refused_before_anything_is_decoded(session, log):
    host, listener, frontend, replica = session
    with _peer(listener) as sock:
        sock.sendall(pickle.dumps(("REQUEST", "stop_session")) + os.urandom(64))
        assert _read(sock, len(REFUSAL)) == REFUSAL
    log.one_warning("refused a frontend", "wrong preface")
    _still_serving(frontend, replica)


def test_another_mpipanel_version_is_refused_naming_both(session, log):
    host, listener, frontend, replica = session
    with _peer(listener) as sock:
        sock.sendall(_preface(listener.key) + _hello("0.0.1"))
        answer = _answer(sock)
    expected = f"session runs mpipanel {__version__}, this frontend is 0.0.1"
    assert answer == {"ok": False, "error": expected}
    log.one_warning("refused a frontend", expected)
    _still_serving(frontend, replica)


@pytest.mark.parametrize("frame, problem", [
    (struct.pack("!I", 100) + b"x" * 10, "a truncated frame (10 of 100 bytes)"),
    (struct.pack("!I", MAX_FRAME + 1), "more than the limit"),
    (struct.pack("!I", 12) + os.urandom(12), "a frame that cannot be decoded"),
    (struct.pack("!I", 0), "a frame that cannot be decoded")])
def test_a_bad_frame_after_the_hand_shake_drops_that_frontend_alone(session, log, frame, problem):
    host, listener, frontend, replica = session
    with _shaken(listener) as sock:
        sock.sendall(frame)
        if b"x" in frame:
            sock.shutdown(socket.SHUT_WR)  # the rest never comes
        log.one_warning("dropped frontend attached:test:1", problem)
    _still_serving(frontend, replica)


def test_a_peer_that_says_nothing_is_refused_after_the_hand_shakes_timeout(session, log):
    host, listener, frontend, replica = session
    with _peer(listener):
        log.one_warning("refused a frontend", f"nothing moved for {HANDSHAKE_TIMEOUT:g} s")
    _still_serving(frontend, replica)


NOBODY_PEER = textwrap.dedent("""
    import socket, sys
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(30)
    sock.connect(sys.argv[1])
    try:
        sock.sendall(bytes.fromhex(sys.argv[2]))
        print(len(sock.recv(4096)))
    except (BrokenPipeError, ConnectionResetError):  # closed before the preface was read
        print(0)
""")


def test_a_peer_of_another_user_is_refused_even_with_the_key(session, log):
    """The directory and the socket keep other users out; were their modes loosened, the
    session would still refuse: it checks the peer's uid before reading a byte."""
    host, listener, frontend, replica = session
    places = [(listener.socket_path.parent.parent, 0o711), (listener.socket_path.parent, 0o711),
              (listener.socket_path, 0o666)]
    modes = [(path, path.stat().st_mode & 0o777) for path, _ in places]
    try:
        for path, mode in places:
            path.chmod(mode)
        peer = subprocess.run(["/usr/bin/python3", "-c", NOBODY_PEER, str(listener.socket_path),
                               (_preface(listener.key) + _hello()).hex()],
                              user=NOBODY, group=NOBODY, capture_output=True, text=True, timeout=TIMEOUT, cwd="/")
    finally:
        for path, mode in modes:
            path.chmod(mode)
    assert peer.returncode == 0, peer.stderr
    assert peer.stdout.strip() == "0"  # closed without a word
    log.one_warning("refused a frontend", f"uid {NOBODY}", "another user")
    _still_serving(frontend, replica)


def test_a_runtime_directory_of_ours_open_to_others_is_tightened(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    (tmp_path / "mpipanel").mkdir(mode=0o755)
    (tmp_path / "mpipanel").chmod(0o755)
    assert connection_files.runtime_dir().stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("planted", ["directory", "symlink"])
def test_a_runtime_directory_another_user_made_is_refused(tmp_path, monkeypatch, planted):
    """Under /tmp, another user may make `/tmp/mpipanel-UID` first, or a link there to a directory of ours."""
    if os.getuid() != 0:
        pytest.skip("giving a file to another user needs root")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    place = tmp_path / "mpipanel"
    if planted == "directory":
        place.mkdir(mode=0o700)
    else:
        (tmp_path / "ours").mkdir(mode=0o700)
        place.symlink_to(tmp_path / "ours")
    os.lchown(place, NOBODY, NOBODY)
    with pytest.raises(PermissionError, match=f"{place} is a .*{NOBODY}, not yours|{place} belongs to user {NOBODY}"):
        connection_files.runtime_dir()
    with pytest.raises(PermissionError):
        connection_files.sessions()


def test_a_connection_file_of_another_user_is_not_read(session, tmp_path):
    """It could send this user's frontends to a socket of another user's, whose answers they would unpickle."""
    host, listener, _, _ = session
    if os.getuid() != 0:
        pytest.skip("giving a file to another user needs root")
    path = listener.socket_path.with_name("0ther000.json")
    path.write_text(json.dumps({**_file_fields(listener), "session": "0ther000"}))
    os.chown(path, NOBODY, NOBODY)
    try:
        with pytest.raises(ValueError, match=f"^{path} is not a regular file of yours: refused as a connection file$"):
            connection_files.read(path)
        assert "0ther000" not in [entry.session for entry in connection_files.sessions()[0]]
    finally:
        path.unlink()


def test_a_stale_connection_file_is_recognised_and_removed(session, tmp_path):
    host, listener, _, _ = session
    dead = subprocess.Popen(["true"])  # a pid that has ended
    dead.wait()
    data = {**_file_fields(listener), "session": "deadbeef", "pid": dead.pid,
            "socket": str(listener.socket_path.with_name("deadbeef.sock"))}
    path = listener.socket_path.with_name("deadbeef.json")
    path.write_text(json.dumps(data))
    path.chmod(0o600)
    live, stale = connection_files.sessions()
    assert [e.session for e in stale] == ["deadbeef"] and not path.exists()
    assert host.info.session_id in [e.session for e in live]


def _file_fields(listener: Listener) -> dict:
    return json.loads(listener.connection_file.read_text())
