"""Isolation 'none': the server rank runs commands itself, on its main thread.

This saves the hop to a worker process, and costs safety: a segfault, a kill, `os._exit` or an
OOM in a command ends the whole MPI job, the client and its GUI included. While a command runs
longer than `PUMP_INTERVAL`, a pump thread takes the rank's MPI duties (heartbeats, output,
receiving commands and interrupts), so a long command still looks alive and can be interrupted.
Output is captured at the Python level only (`sys.stdout`, `sys.stderr`, `logging`). The session's
preload runs at the start of the first command in each fresh namespace, so that the pump thread
keeps the rank talking while it runs; its output counts as that command's.
"""
from __future__ import annotations

import logging
import signal
import sys
import threading
import time

from core.worker.execution import CommandRunner, set_log_level
from core.wire.messages import CommandRequest, LogItem

PUMP_INTERVAL = 0.02


class _CapturedStream:
    """A text stream that adds what is written to the server's output batch."""

    def __init__(self, executor: InlineExecutor, name: str):
        self._executor = executor
        self.name = name
        self.encoding = "utf-8"

    def write(self, text: str) -> int:
        self._executor.add_text(self.name, text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


class _BatchLogHandler(logging.Handler):
    def __init__(self, executor: InlineExecutor):
        super().__init__()
        self._executor = executor

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + self.formatException(record.exc_info)
        self._executor.add_log(LogItem(self._executor.command_id, record.created, record.levelno,
                                       record.name, message))


class InlineExecutor:
    pid = None  # no worker process: commands run here

    def __init__(self, server):
        self.server = server
        self.runner = CommandRunner()
        self.preload_pending = server.preload is not None
        """The namespace is fresh and the preload has yet to run in it (before the next command)."""
        self.command_id: int | None = None
        self._main = threading.main_thread()
        self._streams = {"stdout": _CapturedStream(self, "stdout"), "stderr": _CapturedStream(self, "stderr")}
        root = logging.getLogger()
        self._log_handler = _BatchLogHandler(self)
        root.addHandler(self._log_handler)
        self.set_log_level(server.log_level)
        signal.signal(signal.SIGINT, self._on_sigint)
        threading.Thread(target=self._pump, name="mpipanel-pump", daemon=True).start()

    def _on_sigint(self, signum, frame) -> None:
        if self.runner.executing:
            raise KeyboardInterrupt

    def run(self, request: CommandRequest, buffers: list) -> None:
        """Run the command here and now; the server lock is not held meanwhile."""
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = self._streams["stdout"], self._streams["stderr"]
        self.command_id = request.id
        try:
            if self.preload_pending:
                self.preload_pending = False
                error = self.runner.preload(self.server.preload)
                with self.server.lock:
                    self.server.preloaded(error)
            fields, result = self.runner.run(request, buffers)
        finally:
            sys.stdout, sys.stderr = saved
            self.command_id = None
        with self.server.lock:
            self.server.complete(fields, result)

    def hand_over(self, request: CommandRequest, buffers: list) -> bool:
        """A command runs here only when the rank's loop gets to it."""
        return False

    def take_back(self, ids: set[int]) -> set[int]:
        return set()

    def next_frames(self) -> None:
        """Nothing is ever handed over ahead of time here."""

    def restart(self) -> bool:
        """A fresh namespace, only between commands: the running one holds the old namespace."""
        if self.command_id is not None:
            return False
        self.runner = CommandRunner()
        self.preload_pending = self.server.preload is not None
        return True

    def set_log_level(self, level: int) -> None:
        set_log_level(self._log_handler, level)

    def pause_output(self, paused: bool) -> None:
        """Output is captured in this process at the Python level: nothing to stop reading."""

    def usage(self) -> tuple[float, int]:
        return 0.0, 0

    def close(self) -> None:
        """Nothing runs beside the rank."""

    def interrupt(self) -> None:
        if self.runner.executing:
            signal.pthread_kill(self._main.ident, signal.SIGINT)

    def add_text(self, stream: str, text: str) -> None:
        self.server.add_output(stream, text.encode("utf-8", "backslashreplace"))

    def add_log(self, item: LogItem) -> None:
        self.server.add_log(item)

    def _pump(self) -> None:
        """While a command runs for long, keep the rank talking: heartbeats, output, messages."""
        server = self.server
        while True:
            time.sleep(PUMP_INTERVAL)
            if server.running is None or time.monotonic() - server.running_since < PUMP_INTERVAL:
                continue
            with server.lock:
                if server.running is not None:
                    server.pump()
