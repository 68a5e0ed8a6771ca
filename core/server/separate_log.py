"""Log mode 'separated': one file per server for its output and log records.

casampi names a server's CASA log `<client log>-server-<rank>-host-<host>-pid-<pid>`; without a
client log to derive from, mpipanel uses `mpipanel-server-<rank>-host-<host>-pid-<pid>.log` in
the server's working directory (the client's, for spawned servers; mpiexec's, for world ranks),
so that the servers of one job, or of jobs started in the same second, never share a file. The
file is opened on the first line written and appended to, line-buffered, so it can be followed
while the job runs.
"""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from core.wire.messages import LogItem


def separate_log_path(rank: int, host: str, pid: int) -> Path:
    return Path(f"mpipanel-server-{rank}-host-{host}-pid-{pid}.log").resolve()


class SeparateLog:
    def __init__(self, rank: int, host: str):
        self.path = separate_log_path(rank, host, os.getpid())
        self._file = None

    def _write(self, text: str) -> None:
        if self._file is None:
            self._file = open(self.path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - open for the server's life
        self._file.write(text)

    def write_output(self, data: bytes) -> None:
        """A chunk of stdout or stderr, as the command wrote it (not necessarily whole lines)."""
        self._write(data.decode("utf-8", "backslashreplace"))

    def write_log(self, item: LogItem) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(item.time))
        self._write(f"{stamp} {logging.getLevelName(item.level)} {item.logger}: {item.message}\n")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

