"""Isolation 'none': the server rank runs commands itself, on its main thread.

This saves the hop to a worker process, and costs safety: a segfault, a kill, `os._exit` or an
OOM in a command ends the whole MPI job, the client and its GUI included. While a command runs
longer than `PUMP_INTERVAL`, a pump thread takes the rank's MPI duties (heartbeats, output,
receiving commands and interrupts), so a long command still looks alive and can be interrupted.
Output is captured at the Python level only (`sys.stdout`, `sys.stderr`, `logging`). The session's
preload runs at the start of the first command in each fresh namespace, so that the pump thread
keeps the rank talking while it runs; its output counts as that command's. The pump also holds a
command to its time limit (an interrupt; there is no worker to kill, and the response says so),
reports its `progress` and reads its stack (`sys._current_frames`) when the client asks.
"""
from __future__ import annotations

import builtins
import logging
import signal
import sys
import threading
import time

from core import stacks
from core.stacks import ThreadStack
from core.supervision.running_command import RunningCommand, Step
from core.worker.execution import CommandRunner, set_log_level
from core.worker.progress import REPORT_INTERVAL, ProgressSlot
from core.wire.answers import AnswerTerms
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
        self.command: RunningCommand | None = None
        self.slot = ProgressSlot()
        builtins.progress = self.slot.progress
        self._reported = 0.0
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

    def run(self, request: CommandRequest, buffers: list, terms: AnswerTerms | None = None) -> None:
        """Run the command here and now; the server lock is not held meanwhile. (The rank
        answers: `terms` are for a worker, and never given here.)"""
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = self._streams["stdout"], self._streams["stderr"]
        command = self.command = RunningCommand(request, time.monotonic())
        self.slot.start(request.id)
        try:
            if self.preload_pending:
                self.preload_pending = False
                error = self.runner.preload(self.server.preload)
                with self.server.lock:
                    self.server.preloaded(error)
            fields, result = self.runner.run(request, buffers)
        finally:
            sys.stdout, sys.stderr = saved
            self.command = None
        with self.server.lock:
            self._report_progress()
            self.server.complete(command.outcome(fields, time.monotonic()), result)

    @property
    def command_id(self) -> int | None:
        command = self.command
        return command.request.id if command is not None else None

    @property
    def running(self) -> CommandRequest | None:
        command = self.command
        return command.request if command is not None else None

    handed_over = 0
    """A command runs here only when the rank's loop gets to it: none is handed over ahead."""

    def hand_over(self, request: CommandRequest, buffers: list) -> bool:
        return False

    def take_back(self, ids: set[int] | None = None) -> None:
        """Nothing is handed over here."""

    def restart(self) -> bool:
        """A fresh namespace, only between commands: the running one holds the old namespace."""
        if self.command is not None:
            return False
        self.runner = CommandRunner()
        self.preload_pending = self.server.preload is not None
        self.server.namespace_lost(self.server.words.restarted, None)
        return True

    def due_in(self, now: float) -> float | None:
        command = self.command
        return command.due_in(now) if command is not None else None

    def on_timers(self, now: float) -> None:
        command = self.command
        if command is None:
            return
        if now - self._reported >= REPORT_INTERVAL:
            self._reported = now
            self._report_progress()
        step = command.step(now)
        if step is Step.EXPIRE:
            command.expire(now, stacks.format_threads(self.stacks()))
        if step in (Step.EXPIRE, Step.INTERRUPT):
            self._signal(command, now)
        elif step is Step.KILL:
            command.cannot_kill()

    def _report_progress(self) -> None:
        item = self.slot.take()
        if item is not None:
            self.server.add_progress(item)

    def stop_running(self, grace: float) -> None:
        command = self.command
        if command is not None:
            command.stop(time.monotonic(), grace)
            self._signal(command, time.monotonic())

    def stacks(self) -> list[ThreadStack]:
        """The command's threads, read by the pump (or whichever thread asks) from this process."""
        if self.command is None:
            return []
        return stacks.command_threads(stacks.current_threads(skip={threading.get_ident()}))

    def worker_silence(self, now: float) -> float:
        return 0.0

    def set_log_level(self, level: int) -> None:
        set_log_level(self._log_handler, level)

    def pause_output(self, paused: bool) -> None:
        """Output is captured in this process at the Python level: nothing to stop reading."""

    def usage(self) -> tuple[float, int]:
        return 0.0, 0

    def close(self) -> None:
        """Nothing runs beside the rank."""

    def interrupt(self) -> None:
        command = self.command
        if command is not None:
            self._signal(command, time.monotonic())

    def _signal(self, command: RunningCommand, now: float) -> None:
        command.interrupted(now)
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
