"""A pipe that wakes a thread asleep in `select()`, safe to ring from any thread, even after it closed.

Three loops sleep in `select()` and are woken by other threads: the client's progress thread
(`core.client.engine`), rank 0's client-side worker's (`core.console.host`) and a link's reader
(`core.wire.link`). A wake that comes after the pipe was closed (a late interrupt, a stacks
request as the window closes) does nothing: writing to the old number would reach whatever file
got it since, and a byte in another's channel breaks it.
"""
from __future__ import annotations

import os
import threading


class WakePipe:
    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        for fd in (self._read, self._write):
            os.set_blocking(fd, False)
        self._lock = threading.Lock()
        """Held to write a wake-up and to close: the two never cross."""
        self._open = True

    def fileno(self) -> int:
        """The end to `select()` on."""
        return self._read

    def wake(self) -> None:
        with self._lock:
            if not self._open:
                return
            try:
                os.write(self._write, b"\0")
            except BlockingIOError:
                pass  # the pipe is full of wake-ups already

    def drain(self) -> None:
        """Take the wake-ups waiting (the woken thread, before it looks at what it was woken for)."""
        try:
            while os.read(self._read, 4096):
                pass
        except BlockingIOError:
            pass

    def close(self) -> None:
        with self._lock:
            if self._open:
                self._open = False
                os.close(self._read)
                os.close(self._write)
