"""CASA on an mpipanel server: the preload that `--casa` runs in every fresh server namespace.

It makes the namespace a casampi server's (`from casatasks import *`, so a pushed `flagdata(...)`
runs by name, plus `os`, `time`, `traceback`, `subprocess`, `tempfile`, `uuid`), points casalog at
a file of the server's own, named as casampi names them (`<casa log>-server-<rank>-host-<host>-
pid-<pid>`, in `log_dir`), and forwards each line written there as a `logging` record of logger
`casa` at the line's priority, so that it reaches the server's pane coloured like any record.

casatools' logsink calls no Python per message, so the file is tailed: a daemon thread reads what
was appended every `TAIL_INTERVAL`. A line therefore arrives up to that much later than CASA wrote
it, and counts as output of the command running when it is read.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time

TAIL_INTERVAL = 0.05

PRIORITY_LEVELS = {"SEVERE": logging.ERROR, "WARN": logging.WARNING, "INFO": logging.INFO,
                   "DEBUG": logging.DEBUG}
"""casalog priorities by their stem: INFO1..INFO5 are INFO, DEBUG1 and DEBUG2 are DEBUG."""

CASAMPI_NAMESPACE = """\
from casatasks import *
import os, subprocess, tempfile, time, traceback, uuid
"""

_log = logging.getLogger("casa")


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
        _log_path = os.path.join(log_dir, log_file_name(casalog.logfile(), rank))
        casalog.setlogfile(_log_path)
        threading.Thread(target=_tail, args=(_log_path,), name="mpipanel-casalog", daemon=True).start()
    return _log_path


def parse_line(line: str) -> tuple[int, str]:
    """`(logging level, message)` of one casalog line: `date time<TAB>PRIORITY<TAB>origin<TAB>message`.

    A line of another shape is kept whole, at INFO."""
    fields = line.split("\t", 3)
    if len(fields) == 4:
        stem = fields[1].rstrip("0123456789")
        if stem in PRIORITY_LEVELS:
            return PRIORITY_LEVELS[stem], fields[3]
    return logging.INFO, line


def _tail(path: str) -> None:
    while not os.path.exists(path):
        time.sleep(TAIL_INTERVAL)
    with open(path, encoding="utf-8", errors="backslashreplace") as stream:
        partial = ""
        while True:
            text = stream.read()
            if not text:
                time.sleep(TAIL_INTERVAL)
                continue
            *lines, partial = (partial + text).split("\n")
            for line in lines:
                level, message = parse_line(line)
                _log.log(level, message)
