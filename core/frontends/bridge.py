"""The far side of an ssh link: `python -m core --bridge [SESSION_ID]` takes a frontend to a session here.

A frontend on another machine runs `ssh HOST python3 -m core --bridge ID` (`core.frontends.ssh`) and
speaks the frontend protocol (`core.wire.link`) over ssh's stdin and stdout. The bridge

1. writes its greeting on stdout at once (the frontend skips whatever a login script printed first);
2. reads the frontend's greeting and hello from stdin, and itself refuses a frontend of another
   mpipanel version (naming both), a session that does not run here ("no such session: ..."), and
   one whose process is gone ("session ended: ...", with its session log); with no SESSION_ID it
   takes the only session running here, or refuses listing them;
3. connects to the session's socket with the key of its connection file, which never crosses the
   network (ssh authenticated the user; the bridge runs as that user and reads the key here),
   passes the frontend's hello on and the session's answer back;
4. relays bytes both ways, unread (frames, heartbeats), until either side ends. A stalled link is
   the two ends' to notice, by their heartbeats; the session drops a silent frontend, and the
   bridge ends with that.

`python -m core --bridge --log PATH`: after the same greeting and hello, the text of a session log
of this machine, for a frontend whose session ended (the window opens it). The bridge never loads
MPI, the client or the session host: on a login node it costs one small Python process.
"""
from __future__ import annotations

import json
import os
import socket
import sys
import threading
from pathlib import Path
from typing import Any

from core import __version__
from core.frontends import connection_files
from core.frontends.connection_files import ConnectionFile
from core.wire.link import (BRIDGE_GREETING, DEAD_AFTER, HANDSHAKE_TIMEOUT, FdStream, LinkError, RefusedError,
                            StreamEndedError, encode_hello, greeting_problem, open_handshake, read_hello,
                            socket_stream)

CHUNK = 256 * 1024
"""Bytes relayed at a time."""
SOCKET_TIMEOUT = 10.0
"""Seconds a session's socket has to take the bridge's connection."""
LOG_LIMIT = 1 << 30
"""Bytes of a session log sent at most."""


class RefusalError(Exception):
    """Why the bridge does not take the frontend on: the answer it sends instead of the session's."""

    def __init__(self, error: str, **fields: Any):
        super().__init__(error)
        self.answer = {"ok": False, "error": error, **fields}


def main(session: str | None, log: str | None = None) -> int:
    """`--bridge [SESSION_ID]` or `--bridge --log PATH`; 0 once the link has ended, 1 when refused."""
    stdio = FdStream(sys.stdin.fileno(), sys.stdout.fileno(), lambda: None, HANDSHAKE_TIMEOUT)
    stdio.write(BRIDGE_GREETING)
    try:
        hello = _read_frontend_hello(stdio)
        if log is not None:
            return _send_log(stdio, log)
        entry = locate(session)
        sock, answer = _open_session(entry, hello)
    except RefusalError as refused:
        stdio.write(encode_hello(refused.answer))
        return 1
    except (LinkError, StreamEndedError, TimeoutError, OSError) as exc:
        print(f"mpipanel bridge: {exc}", file=sys.stderr)
        return 1
    stdio.write(encode_hello(answer))
    relay(sock, sys.stdin.fileno(), sys.stdout.fileno())
    return 0


def _read_frontend_hello(stdio: FdStream) -> dict[str, Any]:
    problem = greeting_problem(stdio.read_exactly(len(BRIDGE_GREETING)))
    if problem is not None:
        raise RefusalError(problem)
    hello = read_hello(stdio)
    if hello.get("mpipanel") != __version__:
        raise RefusalError(f"the bridge on {socket.gethostname()} ({sys.executable}) runs mpipanel {__version__}, "
                           f"this frontend is {hello.get('mpipanel')}")
    return hello


def locate(session: str | None) -> ConnectionFile:
    """The connection file of the session asked for; RefusalError saying why there is none."""
    here = socket.gethostname()
    try:
        live, stale = connection_files.sessions()
    except PermissionError as exc:
        raise RefusalError(str(exc)) from None
    found = connection_files.matching(live, session)
    ended = connection_files.matching(stale, session) if session else []
    if len(found) == 1:
        entry = found[0]
        if entry.host != here:
            raise RefusalError(f"session {entry.session} runs on {entry.host}, not on {here}: attach with "
                               f"ssh://{entry.host}/{entry.session}")
        return entry
    if found:
        raise RefusalError(f"several sessions run on {here}: {_described(found)}; name one (ssh://HOST/SESSION_ID)")
    if ended:
        raise _ended(ended[-1])
    if session is None:
        raise RefusalError(f"no session runs on {here} (start one with `python -m core --serve`, or a program with "
                           f"`python -m core --listen`)", gone=True)
    running = f"running there: {_described(live)}" if live else "none runs there"
    raise RefusalError(f"no such session: {session} on {here} ({running})", gone=True)


def _ended(entry: ConnectionFile) -> RefusalError:
    return RefusalError(f"session ended: {entry.session} on {entry.host} (its process, pid {entry.pid}, is gone); "
                        f"its session log: {entry.session_log}", gone=True, session_log=entry.session_log)


def _described(entries: list[ConnectionFile]) -> str:
    return ", ".join(f"{e.session} ({e.kind}{' ' + Path(e.program).name if e.program else ''}, "
                     f"{len(e.servers)} server(s))" for e in entries)


def _open_session(entry: ConnectionFile, hello: dict[str, Any]) -> tuple[socket.socket, dict[str, Any]]:
    """The session's socket, its hand-shake done with the frontend's hello, and the session's answer."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(SOCKET_TIMEOUT)
    try:
        sock.connect(entry.socket)
        answer = open_handshake(socket_stream(sock), entry.key_bytes, hello)
    except RefusedError as refused:
        sock.close()
        raise RefusalError(str(refused)) from None
    except (LinkError, OSError) as exc:
        sock.close()
        if entry.is_stale():
            raise _ended(entry) from None
        raise RefusalError(f"session {entry.session} does not answer on its socket ({exc})", retry=True) from None
    sock.setblocking(True)
    return sock, answer


def _send_log(stdio: FdStream, path: str) -> int:
    """The text of a session log of this machine: an answer saying its size, then its bytes."""
    try:
        with open(path, "rb") as file:
            first = file.readline()
            if json.loads(first or b"null", strict=False).get("event") != "session":
                raise ValueError
            size = os.fstat(file.fileno()).st_size
            if size > LOG_LIMIT:
                raise RefusalError(f"the session log {path} has {size:,} bytes, more than {LOG_LIMIT:,}")
            file.seek(0)
            data = file.read(size)
    except OSError as exc:
        raise RefusalError(f"cannot read the session log {path} on {socket.gethostname()}: {exc.strerror}") from None
    except (ValueError, AttributeError):
        raise RefusalError(f"{path} is not a session log") from None
    stdio.write(encode_hello({"ok": True, "bytes": len(data)}) + data)
    return 0


def relay(sock: socket.socket, read_fd: int, write_fd: int) -> None:
    """Copy bytes both ways until one side ends. When the frontend's side ends first (it detached,
    or ssh went), the session still gets what came, then its end of the socket closes and its last
    frames go out; a session that stays silent after that is left after `DEAD_AFTER`."""
    for fd in (read_fd, write_fd):
        os.set_blocking(fd, True)
    ended = threading.Event()
    down = threading.Thread(target=_copy, args=(lambda: sock.recv(CHUNK), lambda data: _write_all(write_fd, data),
                                                ended), name="bridge-down", daemon=True)
    up = threading.Thread(target=_copy, args=(lambda: os.read(read_fd, CHUNK), sock.sendall, ended),
                          name="bridge-up", daemon=True)
    down.start()
    up.start()
    ended.wait()
    if not up.is_alive() and down.is_alive():
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        down.join(DEAD_AFTER)
    sock.close()


def _copy(read, write, ended: threading.Event) -> None:
    try:
        while data := read():
            write(data)
    except OSError:
        pass
    finally:
        ended.set()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
