"""Log mode 'separated': one file per server for its output and log records.

casampi names a server's CASA log `<client log>-server-<rank>-host-<host>-pid-<pid>`; without a
client log to derive from, mpipanel uses `mpipanel-server-<rank>-host-<host>-pid-<pid>.log` in
the server's working directory (the client's, for spawned servers; mpiexec's, for world ranks),
so that the servers of one job, or of jobs started in the same second, never share a file. The
file is made on the first line written, line-buffered, so it can be followed while the job runs.

The working directory may be shared, and the name can be guessed: the file is created new, 0600,
never through a symlink (`core.private_files`); if the name is taken, the next free one
(`...-1.log`) is used, and `on_open` tells the server which, so that the client can show it.
"""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from collections.abc import Callable

from core.private_files import create_unique
from core.wire.messages import LogItem


def separate_log_base(rank: int, host: str, pid: int) -> Path:
    """The file's path without its `.log`: a taken name gets a number before it."""
    return Path(f"mpipanel-server-{rank}-host-{host}-pid-{pid}").resolve()


class SeparateLog:
    def __init__(self, rank: int, host: str, on_open: Callable[[Path], None]):
        """`on_open(path)`: called once the file is made, with the path it has."""
        self.rank = rank
        self.host = host
        self.on_open = on_open
        self.path: Path | None = None
        """Where the lines go, once the first is written."""
        self._file = None

    def _write(self, text: str) -> None:
        if self._file is None:
            self.path, fd = create_unique(separate_log_base(self.rank, self.host, os.getpid()), ".log")
            self._file = os.fdopen(fd, "a", encoding="utf-8", buffering=1)
            self.on_open(self.path)
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
