"""A session that frontends of other processes can attach to: its socket, its connection file,
and one `Connection` per frontend attached.

No TCP port is opened: the session listens on a Unix-domain socket in the user's private runtime
directory (`core.frontends.connection_files`), takes only peers of its own user (`SO_PEERCRED`),
and serves one only after the key of its connection file (`core.wire.link`). A peer that fails
any of this, or breaks the protocol later, is logged in one line (logger `mpipanel.session`) and
dropped; the session and the other frontends never notice.

A `Connection` turns frames into the host's requests (`SessionHost.requests`, the table the
session's own window uses too) on its reader thread, and its feed into frames on its link's
writer thread.
"""
from __future__ import annotations

import logging
import os
import secrets
import socket
import struct
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from core import __version__
from core.frontends import connection_files, sealed
from core.frontends.frontend import Numbered
from core.frontends.host import Asker, SessionHost, Subscription
from core.frontends.requests import Answer, Request
from core.frontends.model import SessionEnded, SessionSnapshot
from core.wire.blobs import Packed
from core.wire.link import (KEY_BYTES, FdStream, Frame, Link, LinkClosedError, LinkError, StreamEndedError,
                            serve_handshake, socket_stream)

_log = logging.getLogger("mpipanel.session")

LABEL_LIMIT = 200
KINDS = ("window", "program", "notebook")
REPLY_SEALS = {Request.RESPONSE: lambda response: sealed.seal_response(response, limit=None)}
"""How an answer travels when it carries the user's values in a form of its own (a response's
result sealed on its own); any other answer travels as one `Packed` value."""


def peer_credentials(sock: socket.socket) -> tuple[int, int]:
    """The pid and uid of the process at the other end of a Unix-domain socket."""
    pid, uid, _gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
    return pid, uid


class Listener:
    """Listen for frontends of `host`'s session until `close()`."""

    def __init__(self, host: SessionHost):
        self.host = host
        self.key = secrets.token_bytes(KEY_BYTES)
        directory = connection_files.runtime_dir()
        self.socket_path = directory / f"{host.info.session_id}.sock"
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._socket.bind(str(self.socket_path))
        os.chmod(self.socket_path, 0o600)
        self._socket.listen(16)
        self.connection_file: Path = connection_files.write(host.info, self.socket_path, self.key)
        self.connections: list[Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._accept, name="mpipanel-listener", daemon=True)
        self._thread.start()
        _log.info("session %s listens on %s", host.info.session_id, self.socket_path)

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._socket.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._greet, args=(sock,), name="mpipanel-greet", daemon=True).start()

    def _greet(self, sock: socket.socket) -> None:
        """Check a new peer; serve it, or log in one line why not."""
        pid, uid = peer_credentials(sock)
        who = f"pid {pid}, uid {uid}"
        if uid != os.geteuid():
            _log.warning("refused a frontend (%s): another user than the session's (uid %d)", who, os.geteuid())
            sock.close()
            return
        stream = socket_stream(sock)
        try:
            hello = serve_handshake(stream, self.key, self._answer)
        except (LinkError, StreamEndedError, TimeoutError, OSError) as exc:
            _log.warning("refused a frontend (%s): %s", who, exc)
            stream.close()
            return
        with self._lock:
            if self._closed:
                stream.close()
                return
            connection = Connection(self, stream, hello, who)
            self.connections.append(connection)
        connection.start()

    def _answer(self, hello: dict[str, Any]) -> dict[str, Any]:
        """The session's hello to a frontend's: welcome, or why not."""
        version, label, kind = hello.get("mpipanel"), hello.get("label"), hello.get("kind")
        resume = hello.get("resume_after")
        if version != __version__:
            error = f"session runs mpipanel {__version__}, this frontend is {version}"
        elif not isinstance(label, str) or not label.isprintable() or not 0 < len(label) <= LABEL_LIMIT:
            error = f"a frontend's label is printable text of 1 to {LABEL_LIMIT} characters, not {label!r}"
        elif kind not in KINDS:
            error = f"a frontend's kind is one of {KINDS}, not {kind!r}"
        elif resume is not None and (isinstance(resume, bool) or not isinstance(resume, int)):
            error = f"resume_after is an event number or null, not {resume!r}"
        else:
            return {"ok": True, "session": self.host.info.session_id, "mpipanel": __version__}
        return {"ok": False, "error": error}

    def forget(self, connection: Connection) -> None:
        with self._lock:
            if connection in self.connections:
                self.connections.remove(connection)

    def close(self) -> None:
        """Stop listening, remove the socket and the connection file, end every connection
        (after what its feed still had to send: close the host first to send it `SessionEnded`)."""
        with self._lock:
            self._closed = True
            connections = list(self.connections)
        try:
            self._socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._socket.close()
        self._thread.join()
        for path in (self.connection_file, self.socket_path):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        for connection in connections:
            connection.end()


class Connection:
    """One attached frontend: requests in, its feed out."""

    def __init__(self, listener: Listener, stream: FdStream, hello: dict[str, Any], who: str):
        self.listener = listener
        self.host = listener.host
        self.label: str = hello["label"]
        self._asker = Asker(self.label, direct=True)
        self.kind: str = hello["kind"]
        self.who = who
        self._resume_after: int | None = hello.get("resume_after")
        self.link = Link(stream, self.label, prepare={Frame.SNAPSHOT: sealed.seal_snapshot,
                                                      Frame.EVENTS: sealed.seal_events})
        self._subscription: Subscription | None = None
        self._handlers = {Frame.REQUEST: self._on_request, Frame.HEARTBEAT: _nothing, Frame.DETACH: self._on_detach}
        self._detached = False
        self._ending = False
        """The session ended: the link closes once its last frames are out."""
        self._thread = threading.Thread(target=self._read, name=f"mpipanel-frontend-{self.label}", daemon=True)

    def start(self) -> None:
        try:
            self._subscription = self.host.open_feed(self._on_snapshot, self._on_events, self._resume_after)
        except RuntimeError as exc:  # the session ended meanwhile
            self._ending = True
            self.link.post(Frame.ENDED, str(exc))
            self.link.finish()
            self.listener.forget(self)
            return
        how = f"resumes after event {self._resume_after}" if self._resume_after is not None else "attached"
        _log.info("frontend %s (%s, %s) %s", self.label, self.kind, self.who, how)
        self._thread.start()

    # ----- the feed, on the host's thread -----------------------------------------------------
    def _on_snapshot(self, snapshot: SessionSnapshot) -> None:
        self.link.post(Frame.SNAPSHOT, snapshot)

    def _on_events(self, batch: Numbered) -> None:
        self.link.post(Frame.EVENTS, batch)
        ended = [event for _, event in batch if isinstance(event, SessionEnded)]
        if ended:
            self._ending = True
            self.link.post(Frame.ENDED, ended[-1].reason)
            self.link.finish()

    # ----- requests, on the reader thread -----------------------------------------------------
    def _read(self) -> None:
        reason = None
        while not self._detached:
            try:
                kind, payload = self.link.receive()
            except LinkClosedError as exc:
                if not self._ending:
                    _log.info("frontend %s (%s) left without detaching: %s", self.label, self.who, exc)
                break
            except LinkError as exc:
                reason = str(exc)
                break
            handler = self._handlers.get(kind)
            if handler is None:
                reason = f"it sent a {kind.name} frame, which only a session sends"
                break
            try:
                handler(payload)
            except (TypeError, ValueError) as exc:
                reason = f"a {kind.name} frame of the wrong shape ({exc})"
                break
        self._leave(reason)

    def _leave(self, reason: str | None) -> None:
        if self._subscription is not None:
            self._subscription.close()
        if reason is not None:
            _log.warning("dropped frontend %s (%s): %s", self.label, self.who, reason)
            self.link.close()
        else:
            if self._detached:
                _log.info("frontend %s (%s) detached", self.label, self.who)
            self.link.finish()
        self.listener.forget(self)

    def end(self) -> None:
        """Close the link once its feed's last frames are out (the session has ended)."""
        self._ending = True
        self.link.finish()

    def _on_detach(self, _payload: Any) -> None:
        self._detached = True

    def _on_request(self, payload: tuple[int, str, Packed]) -> None:
        number, name, packed = payload
        if not isinstance(number, int) or not isinstance(packed, Packed):
            raise TypeError("a REQUEST is (number, request name, Packed((args, kwargs)))")
        try:
            request = Request(name)
            args, kwargs = packed.unpack()
            handling = self.host.requests[request]
            answer = handling.call(self._asker, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the frontend's call raises it
            self._reply(number, None, exc, raised=True)
            return
        if handling.answer is Answer.COMMANDS:
            self._reply(number, request, [future.command_id for future in answer])
        elif handling.answer is Answer.FUTURE:
            answer.add_done_callback(lambda done: self._reply_future(number, request, done))
        else:
            self._reply(number, request, answer)

    def _reply_future(self, number: int, request: Request, future: Future) -> None:
        error = future.exception()
        if error is not None:
            self._reply(number, request, error, raised=True)
        else:
            self._reply(number, request, future.result())

    def _reply(self, number: int, request: Request | None, value: Any, raised: bool = False) -> None:
        seal = REPLY_SEALS.get(request) if not raised else None
        try:
            packed = Packed(seal(value) if seal is not None else value)
        except Exception as exc:  # noqa: BLE001 - an answer that cannot be pickled fails alone
            packed, raised = Packed(RuntimeError(f"the answer cannot be sent: {type(exc).__name__}: {exc}")), True
        self.link.post(Frame.REPLY, (number, raised, packed))


def _nothing(_payload: Any) -> None:
    """A heartbeat: that it came is all it says."""
