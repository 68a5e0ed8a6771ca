"""CASA on an mpipanel server: the preload that `--casa` runs in every fresh server namespace.

It makes the namespace a casampi server's (`from casatasks import *`, so a pushed `flagdata(...)`
runs by name, plus `os`, `time`, `traceback`, `subprocess`, `tempfile`, `uuid`), points casalog at
a file of the server's own, named as casampi names them (`<casa log>-server-<rank>-host-<host>-
pid-<pid>`, in `log_dir`, usually the working directory, which may be shared: the file is created
new, 0600, never through a symlink, under the next free name if that one is taken, and casalog
writes to it through this process's descriptor, so that the name cannot be swapped for a link
in between; its real path is logged at set-up), and forwards each INFO or DEBUG line written there as a `logging`
record of logger `casa` at the line's priority, so that it reaches the server's pane coloured like
any record. WARN and SEVERE lines reach it by stderr, where casalog writes them too
(`core.casa.log_lines`). Rank 0's client-side worker keeps CASA's own log file, and forwards the
lines it writes there from then on (`forward_log`).

casatools' logsink calls no Python per message, so the file is tailed: a daemon thread reads what
was appended every `TAIL_INTERVAL`, and the worker reads it once more at the end of each command,
so that a task's last lines come before its response.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time

from core.casa.log_lines import ON_STDERR, parse_line
from core.private_files import create_unique

TAIL_INTERVAL = 0.05

CASAMPI_NAMESPACE = """\
from casatasks import *
import os, subprocess, tempfile, time, traceback, uuid
"""

_log = logging.getLogger("casa")


CLIENT_SIDE_PRELOAD = (CASAMPI_NAMESPACE + "from core.casa.server_setup import forward_log as _forward_log\n"
                       "_forward_log()\ndel _forward_log\n")


def preload_code(log_dir: str) -> str:
    """The preload that sets a server up for CASA, writing its casalog file into `log_dir`."""
    return (CASAMPI_NAMESPACE + "from core.casa.server_setup import setup as _casa_setup\n"
            f"_casa_setup(int(os.environ['MPIPANEL_SERVER_RANK']), {os.path.abspath(log_dir)!r})\n"
            "del _casa_setup\n")


def log_file_name(casa_log: str, rank: int) -> str:
    """casampi's name for a server's log file, beside the name of the casa log it started with."""
    return f"{os.path.basename(casa_log)}-server-{rank}-host-{socket.gethostname()}-pid-{os.getpid()}"


_log_path: str | None = None
"""This process's casalog file once set up: casalog is one per process, so a fresh namespace in
the same process (isolation 'none', after a restart) keeps the file and its tail."""


def setup(rank: int, log_dir: str) -> str:
    """Send this process's casalog to its own file in `log_dir` and forward its lines to the
    server's log; returns the file's path."""
    global _log_path
    if _log_path is None:
        from casatasks import casalog
        path, fd = create_unique(os.path.join(log_dir, log_file_name(casalog.logfile(), rank)))
        _log_path = str(path)
        held = descriptor_path(fd)
        casalog.setlogfile(held)
        _log.info("casalog of server %d: %s", rank, _log_path)
        _start_tail(held, from_end=False)
    return _log_path


def descriptor_path(fd: int) -> str:
    """A name that opens the very file `fd` is open on, whatever its name now leads to."""
    return f"/proc/self/fd/{fd}"


def forward_log() -> str:
    """Forward what this process's casalog writes to its file from now on (the client-side worker,
    whose file is CASA's own log of the session); returns the file's path."""
    global _log_path
    if _log_path is None:
        from casatasks import casalog
        _log_path = casalog.logfile()
        _start_tail(_log_path, from_end=True)
    return _log_path


def _start_tail(path: str, from_end: bool) -> None:
    tail = _Tail(path, from_end)
    from core.worker.execution import AT_COMMAND_END
    AT_COMMAND_END.append(tail.read)  # a command's last lines come before its response
    threading.Thread(target=tail.follow, name="mpipanel-casalog", daemon=True).start()


class _Tail:
    """Reads what casalog appends to its file and logs it: every `TAIL_INTERVAL`, and at the end of
    each command."""

    def __init__(self, path: str, from_end: bool):
        self.path = path
        self.from_end = from_end
        self._stream = None
        self._partial = ""
        self._lock = threading.Lock()

    def follow(self) -> None:
        while True:
            self.read()
            time.sleep(TAIL_INTERVAL)

    def read(self) -> None:
        with self._lock:  # held while logging too, so that two readers keep the lines in order
            if self._stream is None:
                if not os.path.exists(self.path):
                    return
                self._stream = open(self.path, encoding="utf-8", errors="backslashreplace")  # noqa: SIM115 - for good
                if self.from_end:
                    self._stream.seek(0, os.SEEK_END)
            *lines, self._partial = (self._partial + self._stream.read()).split("\n")
            for line in lines:
                level, message = parse_line(line) or (logging.INFO, line)
                if level < ON_STDERR:
                    _log.log(level, message)
