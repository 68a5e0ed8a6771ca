"""Where a frontend reaches its session: the socket of a session on this machine, or ssh to a bridge.

A `RemoteFrontend` asks its endpoint for a stream whose hand-shake is done, again after every drop;
what travels on it is the same either way (`core.wire.link`). `endpoint_for` picks one from a
target: `ssh://[user@]host[:port][/SESSION_ID]` goes through ssh (`core.frontends.ssh`), anything
else names a session of this machine (`core.frontends.connection_files.find`).

What `connect` raises says what a frontend is to do next: `SessionGoneError` (the session ended,
or never ran there) and `RefusedError` end the frontend; `OSError` (`SshError` among them, with its
one clear message) and `LinkError` are worth another try after a pause.
"""
from __future__ import annotations

import collections
import logging
import os
import socket
import subprocess
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

from core.frontends import connection_files
from core.frontends.connection_files import ConnectionFile
from core.frontends.ssh import (CONNECT_TIMEOUT, Failure, SshError, SshTarget, bridge_command, explain, is_ssh_target,
                                remote_python, ssh_argv, ssh_command)
from core.wire.link import (FdStream, LinkError, RefusedError, StreamEndedError, open_bridge_handshake,
                            open_handshake, socket_stream)

_log = logging.getLogger("mpipanel.session")

SOCKET_TIMEOUT = 10.0
"""Seconds a local session's socket has to take a connection."""
BRIDGE_TIMEOUT = 2 * CONNECT_TIMEOUT + 10
"""Seconds ssh and the bridge have to answer a hello: a connection through a jump host, then a
Python that starts on a busy login node."""
HANG_UP_GRACE = 2.0
"""Seconds ssh has to end on its own once its stdin is closed (the last frames going out) before
it is killed."""
STDERR_KEPT = 64 * 1024
"""Characters of ssh's stderr kept to explain a failure."""


class SessionGoneError(RefusedError):
    """The session is not there (any more): it ended, or never ran where it was looked for."""


class SessionEndpoint(Protocol):
    session: str | None
    """The session's id (over ssh, None until the first hand-shake said which session it is)."""

    def connect(self, hello: dict[str, Any]) -> tuple[FdStream, dict[str, Any]]:
        """A stream whose hand-shake is done, and the session's answer."""

    def gone(self) -> str | None:
        """Before another try: why the session is known to be gone, or None."""

    def read_session_log(self, path: str, hello: dict[str, Any]) -> str:
        """The text of the session's log, on the session's machine."""


def endpoint_for(target: str | os.PathLike | ConnectionFile | None, remote_python_command: str | None = None,
                 ssh: str | list[str] | None = None) -> SessionEndpoint:
    """The endpoint a target names; ValueError saying why it names none."""
    if is_ssh_target(target):
        return SshEndpoint(SshTarget.parse(str(target)), remote_python(remote_python_command), ssh_command(ssh))
    return LocalEndpoint(target if isinstance(target, ConnectionFile) else connection_files.find(target))


class LocalEndpoint:
    """A session of this machine: its socket, and the key its connection file holds."""

    def __init__(self, entry: ConnectionFile):
        self.entry = entry
        self.session: str | None = entry.session

    def __str__(self) -> str:
        return f"session {self.entry.session}"

    def connect(self, hello: dict[str, Any]) -> tuple[FdStream, dict[str, Any]]:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(SOCKET_TIMEOUT)
        try:
            sock.connect(self.entry.socket)
        except OSError:
            sock.close()
            raise
        stream = socket_stream(sock)
        try:
            return stream, open_handshake(stream, self.entry.key_bytes, hello)
        except BaseException:
            stream.close()
            raise

    def gone(self) -> str | None:
        try:
            entry = connection_files.read(self.entry.path) if self.entry.path else self.entry
        except ValueError:
            return "the session is gone (its connection file is)"
        if entry.is_stale():
            return f"the session's process (pid {self.entry.pid}) is gone"
        return None

    def read_session_log(self, path: str, hello: dict[str, Any]) -> str:
        return Path(path).read_text(encoding="utf-8")


class SshEndpoint:
    """A session on another machine, through `ssh HOST PYTHON -m core --bridge [SESSION_ID]`.

    Each `connect` runs a new ssh; `process` is the one of the link that is up (the tests stop
    and kill it). The first answer names the session, and later connections ask for that one,
    not for "the only one"."""

    def __init__(self, target: SshTarget, python: str, ssh: list[str]):
        self.target = target
        self.python = python
        self.ssh = ssh
        self.process: subprocess.Popen | None = None

    @property
    def session(self) -> str | None:
        return self.target.session

    def __str__(self) -> str:
        return str(self.target)

    def connect(self, hello: dict[str, Any]) -> tuple[FdStream, dict[str, Any]]:
        stream, ssh = self._start(*([self.target.session] if self.target.session else []))
        try:
            answer = open_bridge_handshake(stream, hello, BRIDGE_TIMEOUT)
        except RefusedError as refused:
            stream.close()
            raise (SessionGoneError(str(refused), refused.answer) if refused.answer.get("gone") else refused) from None
        except (StreamEndedError, TimeoutError, OSError, LinkError) as exc:
            stream.close()
            raise ssh.failure(exc) from None
        if self.target.session is None:
            self.target = self.target.with_session(str(answer.get("session")))
        self.process = ssh.process
        return stream, answer

    def gone(self) -> str | None:
        return None  # the bridge says so, when it is asked

    def read_session_log(self, path: str, hello: dict[str, Any]) -> str:
        stream, ssh = self._start("--log", path)
        try:
            answer = open_bridge_handshake(stream, hello, BRIDGE_TIMEOUT)
            return stream.read_exactly(int(answer["bytes"])).decode("utf-8", errors="replace")
        except RefusedError:
            raise
        except (StreamEndedError, TimeoutError, OSError, LinkError) as exc:
            raise ssh.failure(exc) from None
        finally:
            stream.close()

    def _start(self, *bridge_args: str) -> tuple[FdStream, SshProcess]:
        argv = ssh_argv(self.target, bridge_command(self.python, *bridge_args), self.ssh)
        _log.debug("running %s", argv)
        ssh = SshProcess(argv, Failure(self.target, self.python, None))
        return FdStream(ssh.process.stdout.fileno(), ssh.process.stdin.fileno(), ssh.hang_up), ssh


class SshProcess:
    """One ssh to a bridge: its stdin and stdout are the stream; its stderr is kept (the tail of it)
    to explain a failure, and logged as it comes once the link is up."""

    def __init__(self, argv: list[str], failure: Failure):
        self.failure_facts = failure
        # A session of its own: ssh has no terminal to ask on, and a Ctrl-C meant for the program
        # that attached does not cut its link.
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        start_new_session=True)
        self._stderr: collections.deque[str] = collections.deque()
        self._stderr_chars = 0
        self._stderr_done = threading.Thread(target=self._read_stderr, name="mpipanel-ssh-stderr", daemon=True)
        self._stderr_done.start()

    def _read_stderr(self) -> None:
        for raw in iter(self.process.stderr.readline, b""):
            line = raw.decode("utf-8", errors="replace")
            self._stderr.append(line)
            self._stderr_chars += len(line)
            while self._stderr_chars > STDERR_KEPT:
                self._stderr_chars -= len(self._stderr.popleft())
            _log.debug("ssh: %s", line.rstrip())
        self.process.stderr.close()

    @property
    def stderr(self) -> str:
        return "".join(self._stderr)

    def failure(self, exc: BaseException) -> SshError:
        """The error that explains why the bridge did not answer, from ssh's stderr once it has ended."""
        try:
            code = self.process.wait(HANG_UP_GRACE + 1)
        except subprocess.TimeoutExpired:
            code = None
        self._stderr_done.join(HANG_UP_GRACE)
        if isinstance(exc, LinkError):
            return SshError(f"{self.failure_facts.target}: {exc}", self.stderr)
        if code is None and isinstance(exc, TimeoutError):
            return SshError(f"{self.failure_facts.target} did not answer within {BRIDGE_TIMEOUT} s (ssh reached "
                            f"nothing, or the far side's Python did not start)", self.stderr)
        return SshError(explain(self.stderr, replace(self.failure_facts, returncode=code)), self.stderr)

    def hang_up(self) -> None:
        """Close ssh's stdin (the bridge then ends once the session has its last frames) and stop
        reading its stdout; kill it if it has not ended within `HANG_UP_GRACE`."""
        for pipe in (self.process.stdin, self.process.stdout):
            try:
                pipe.close()
            except OSError:
                pass
        threading.Thread(target=self._reap, name="mpipanel-ssh-reaper", daemon=True).start()

    def _reap(self) -> None:
        try:
            self.process.wait(HANG_UP_GRACE)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

