"""Sessions with no window: `python -m core --serve`, `--listen`, and `--sessions` to find them.

`serve` runs a session and nothing else: its servers wait for frontends (windows, programs,
notebooks that attach) until one of them stops it, or SIGTERM or SIGINT does.

`Listening` makes the first client a program starts into a session that frontends can attach to.
The program's own `stop_services()` is held (`core.environment.hold_stop`) until the program has
ended: its servers then stop as they would have (after their queue, or at once when the program
failed), or, with a linger, stay up that many minutes more for frontends to look and go on, until
one of them stops the session or the time is up.

Every session of these writes its session log where `$MPIPANEL_STATE_DIR` says, as any client
does (`core.sessions.session_log`).
"""
from __future__ import annotations

import datetime
import json
import logging
import os
import signal
import socket
import sys
from typing import Any

from core import environment
from core.frontends import connection_files
from core.frontends.host import SessionHost
from core.frontends.listener import Listener


class _TerminatedError(Exception):
    """SIGTERM arrived."""


def _raise_terminated(_signal, _frame) -> None:
    raise _TerminatedError


def log_to_stderr() -> None:
    """Who attaches, who leaves, which peer was refused and why: one line each on stderr."""
    logger = logging.getLogger("mpipanel.session")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s mpipanel: %(message)s", "%H:%M:%S"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def reachable_name() -> str:
    """The name another machine reaches this one by: the Slurm node's name inside a job (what
    `squeue` shows, and what a ProxyJump entry in ~/.ssh/config matches), else the host name."""
    return os.environ.get("SLURMD_NODENAME") or socket.gethostname()


def attach_line(host: SessionHost) -> str:
    """The lines a session prints: its id, how to attach here, and from another machine."""
    info = host.info
    return (f"session {info.session_id}: {len(info.servers)} server(s), pid {info.pid}; attach with "
            f"`mpipanel --attach {info.session_id}` or `core.attach({info.session_id!r})`; "
            f"stop it from a frontend or with `kill {info.pid}`\n"
            f"session {info.session_id}: from another machine: "
            f"mpipanel --attach ssh://{reachable_name()}/{info.session_id}")


def _wait_for_end(host: SessionHost, seconds: float | None, timeout_reason: str,
                  announce: str | None = None) -> str | None:
    """Wait until the session ends (None), `seconds` pass (`timeout_reason`) or SIGTERM or SIGINT
    comes (saying so): why the session is to stop. `announce` is printed once SIGTERM would be
    caught: whoever reads it may send SIGTERM at once."""
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        if announce is not None:
            print(announce, flush=True)
        return None if host.ended.wait(seconds) else timeout_reason
    except _TerminatedError:
        return "stopped by SIGTERM"
    except KeyboardInterrupt:
        return "stopped by SIGINT"
    finally:
        signal.signal(signal.SIGTERM, previous)


def _end(host: SessionHost, listener: Listener, reason: str | None, force: bool) -> None:
    if reason is not None and not host.ended.is_set():
        host.stop(reason, force)
    listener.close()


def serve(servers: int | None) -> int:
    """`python -m core --serve`: spawn `servers` (or, under mpiexec, take the world's) and serve
    frontends until the session is stopped."""
    from core.client.command_client import MPICommandClient
    log_to_stderr()
    client = MPICommandClient(servers=servers, print_output=False)
    client.start_services()
    host = SessionHost(client, info_kind="serve")
    listener = Listener(host)
    _end(host, listener, _wait_for_end(host, None, "", announce=attach_line(host)), force=True)
    return 0


class Listening:
    """`python -m core --listen [--linger MINUTES]`: make the program's first client a session."""

    def __init__(self, program: str, linger_minutes: float | None = None):
        self.program = program
        self.linger_minutes = linger_minutes
        self.host: SessionHost | None = None
        self.listener: Listener | None = None
        log_to_stderr()
        environment.when_a_client_starts(self._started)

    def _started(self, client) -> None:
        environment.hold_stop(client)
        self.host = SessionHost(client, info_kind="listen", program=self.program)
        self.listener = Listener(self.host)
        print(attach_line(self.host), file=sys.stderr, flush=True)

    def program_ended(self, code: int) -> None:
        """Stop the session as the program would have, after the linger if there is one."""
        host, listener = self.host, self.listener
        if host is None:
            return
        if self.linger_minutes is None or host.ended.is_set():
            _end(host, listener, "the program ended", force=code != 0)
            return
        print(f"session {host.info.session_id}: the program ended (status {code}); its servers stay up "
              f"{self.linger_minutes:g} minute(s) for frontends", file=sys.stderr, flush=True)
        reason = _wait_for_end(host, self.linger_minutes * 60, f"its linger of {self.linger_minutes:g} minute(s) ended")
        _end(host, listener, reason, force=True)


def list_sessions(as_json: bool) -> int:
    """`python -m core --sessions [--json]`: one line per session, starting with its id; stale
    connection files are named (and removed). Keys are never shown."""
    live, stale = connection_files.sessions()
    rows = [_row(entry, "live") for entry in live] + [_row(entry, "stale") for entry in stale]
    if as_json:
        print(json.dumps(rows, indent=1))
    elif not rows:
        print("no sessions")
    for row in [] if as_json else rows:
        print(_line(row))
    return 0


def _row(entry: connection_files.ConnectionFile, state: str) -> dict[str, Any]:
    return {"session": entry.session, "state": state, "kind": entry.kind, "host": entry.host, "pid": entry.pid,
            "started": entry.started, "servers": entry.servers, "program": entry.program, "mpipanel": entry.mpipanel,
            "session_log": entry.session_log, "socket": entry.socket, "connection_file": entry.path}


def _line(row: dict[str, Any]) -> str:
    started = datetime.datetime.fromtimestamp(row["started"]).isoformat(sep=" ", timespec="seconds")
    if row["state"] == "stale":
        return f"{row['session']}  stale: its process (pid {row['pid']}) is gone; its connection file was removed"
    what = f"{row['kind']} {row['program']}" if row["program"] else row["kind"]
    return (f"{row['session']}  {what}, {len(row['servers'])} server(s), pid {row['pid']}, started {started}, "
            f"mpipanel {row['mpipanel']}")
