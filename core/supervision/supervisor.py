"""One worker process under supervision, for whoever runs user code in one: written once for both.

A server rank (`core.server.rank`, isolation 'process') and rank 0 for its client-side worker
(`core.console.host`) both run commands in a `WorkerProcess`; what they do with it is the same and
lives here: feed it a command, handle its frames by kind (`_frames`), relay its stdout and stderr
(drained before a response, so that what a command printed comes first), send an interrupt again
until it lands, and when the worker dies, fail the running command naming how, start a fresh worker
(which runs the preload before anything else) and say that the namespace is lost.

What differs stays with the owner (`Owner`): where output and responses go (MPI messages to the
client; the client's futures and events), the words of its messages (`WorkerWords`), and frames
only it takes (the client-side worker's calls). The supervisor registers the worker's channel and
pipes in the owner's selector, with callbacks called as `key.data(key.fileobj)`, so the owner
sleeps in one `select()`; it asks to be called at `due_in(now)` (`on_timers`) for what is due.
Everything here runs on the owner's one thread.
"""
from __future__ import annotations

import logging
import selectors
import time
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import psutil

from core.supervision.running_command import RunningCommand, Step
from core.supervision.worker_process import WORKER_CODE, WorkerProcess
from core.wire.messages import CommandRequest, LogItem, WorkerKind
from core.wire.responses import Status, failure


class Owner(Protocol):
    """What a supervisor reports to whoever runs it."""

    def add_output(self, stream: str, data: bytes) -> None:
        """Bytes the worker wrote on 'stdout' or 'stderr'."""

    def add_log(self, item: LogItem) -> None:
        """A log record of the worker (or of the supervisor, about it)."""

    def output_due(self) -> bool:
        """True when the output gathered so far must go before more is read."""

    def complete(self, fields: dict[str, Any], buffers: list) -> None:
        """The running command is over: its response fields and its result's buffers."""

    def preloaded(self, error: str | None) -> None:
        """The preload ran in a fresh namespace: None, or the traceback of its failure."""

    def namespace_lost(self, detail: str, fields: dict[str, Any] | None) -> None:
        """A fresh worker took over (the old one died, or was replaced on purpose): `detail` says
        why; `fields` is the response of the command that was running then, if one was."""


class WorkerWords(NamedTuple):
    """How the owner's messages name its worker; `{pid}` and `{how}` are filled in."""

    died: str
    """The worker died under its own steam: '... (pid {pid}) {how}. Its namespace is lost; ...'."""
    restarted: str
    """The owner asked for a fresh worker."""


FrameHandler = Callable[[Any, list], None]


class WorkerSupervisor:
    def __init__(self, selector: selectors.BaseSelector, owner: Owner, words: WorkerWords, *,
                 preload: str | None = None, log_level: int = logging.INFO, code: str = WORKER_CODE,
                 allocate=None, frames: dict[WorkerKind, FrameHandler] | None = None):
        """`preload`: code every fresh worker runs first; `code`: the worker's program
        (`core.worker`, or the client-side worker's); `allocate(size)`: where the buffers of its
        frames go (`core.wire.worker_channel`); `frames`: handlers of frame kinds only the owner
        takes, `handler(payload, buffers)`."""
        self.selector = selector
        self.owner = owner
        self.words = words
        self.preload = preload
        self.log_level = log_level
        self._code = code
        self._allocate = allocate
        self._frames: dict[WorkerKind, FrameHandler] = {
            WorkerKind.LOG: self._on_log, WorkerKind.DONE: self._on_done, WorkerKind.PRELOADED: self._on_preloaded,
            **(frames or {})}
        """What a frame from the worker does, by its kind."""
        self.command: RunningCommand | None = None
        self.worker = self._start()

    @property
    def pid(self) -> int:
        return self.worker.pid

    @property
    def running(self) -> CommandRequest | None:
        """The command running in the worker, if any."""
        return self.command.request if self.command is not None else None

    # ----- what the owner asks --------------------------------------------------------------
    def run(self, request: CommandRequest, buffers: list) -> None:
        self.command = RunningCommand(request, time.monotonic())
        self.worker.run(request, buffers)

    def interrupt(self) -> None:
        """Raise KeyboardInterrupt in the running command, now and again until it ends."""
        if self.command is not None:
            self.command.interrupted(time.monotonic())
            self.worker.interrupt()

    def restart(self) -> bool:
        """Replace the worker by a fresh one now (the running command fails, saying why)."""
        self._replace(self.words.restarted)
        return True

    def set_log_level(self, level: int) -> None:
        self.log_level = level
        self.worker.channel.send(WorkerKind.SET_LOG_LEVEL, level)

    def due_in(self, now: float) -> float | None:
        """Seconds until `on_timers` has something to do; None when nothing is pending."""
        return self.command.due_in(now) if self.command is not None else None

    def on_timers(self, now: float) -> None:
        command = self.command
        if command is not None and command.step(now) is Step.INTERRUPT:
            command.interrupted(now)
            self.worker.interrupt()

    def usage(self) -> tuple[float, int]:
        """CPU % and resident bytes of the worker."""
        try:
            process = self.worker.psutil_process
            return process.cpu_percent(None), process.memory_info().rss
        except psutil.Error:
            return 0.0, 0

    def close(self) -> None:
        """End the worker for good, keeping what it printed (the owner answers for a command that
        was running)."""
        self._unregister(self.worker)
        self._drain_streams()
        self.worker.kill()

    # ----- the worker's channel and streams ---------------------------------------------------
    def _start(self) -> WorkerProcess:
        worker = WorkerProcess(allocate=self._allocate, code=self._code)
        if self.log_level != logging.INFO:
            worker.channel.send(WorkerKind.SET_LOG_LEVEL, self.log_level)
        self.selector.register(worker.channel, selectors.EVENT_READ, self._on_frames)
        for fd in worker.streams:
            self.selector.register(fd, selectors.EVENT_READ, self._on_stream)
        if self.preload is not None:
            worker.channel.send(WorkerKind.PRELOAD, self.preload)  # runs before any command
        return worker

    def _on_frames(self, channel) -> None:
        """Handle the frames waiting, until the output gathered is due: the owner's loop must come
        round to send it, and to pause a flood of log records (one batch of 1 MB records held
        16 MB, and the client took them 64 batches at a time)."""
        try:
            while True:
                kind, payload, buffers = channel.receive()
                handler = self._frames.get(kind)
                if handler is None:
                    self.owner.add_log(LogItem(None, time.time(), 40, "mpipanel.supervisor",
                                               f"Internal error: the worker (pid {self.worker.pid}) sent a frame "
                                               f"of kind {kind!r}, which its supervisor does not handle; dropped."))
                else:
                    handler(payload, buffers)
                if self.owner.output_due() or not channel.poll():
                    return
        except (EOFError, OSError):
            self._on_death()

    def _on_log(self, item: LogItem, buffers: list) -> None:
        self.owner.add_log(item)

    def _on_done(self, fields: dict[str, Any], buffers: list) -> None:
        self._drain_streams()
        self.command = None
        self.owner.complete(fields, buffers)

    def _on_preloaded(self, error: str | None, buffers: list) -> None:
        self._drain_streams()
        self.owner.preloaded(error)

    def _on_stream(self, fd: int) -> None:
        data = self.worker.read_stream(fd)
        if data == b"":
            self.selector.unregister(fd)
        elif data:
            self.owner.add_output(self.worker.streams[fd], data)

    def _drain_streams(self) -> None:
        for fd, stream in self.worker.streams.items():
            while data := self.worker.read_stream(fd):
                self.owner.add_output(stream, data)

    def pause_output(self, paused: bool) -> None:
        """Stop or resume reading the worker's pipes and its channel, whose log records are output
        too: a paused worker blocks in `write` or `send`, so that a flood of either costs bounded
        memory (its response, after them on the channel, waits as it must)."""
        for fileobj, on_ready in ((self.worker.channel, self._on_frames),
                                  *((fd, self._on_stream) for fd in self.worker.streams)):
            key = self.selector.get_map().get(fileobj)
            if paused and key is not None:
                self.selector.unregister(fileobj)
            elif not paused and key is None and not self._closed(fileobj):
                self.selector.register(fileobj, selectors.EVENT_READ, on_ready)

    def _closed(self, fileobj) -> bool:
        if fileobj is self.worker.channel:
            return fileobj.sock.fileno() < 0
        process = self.worker.process
        return (process.stdout if self.worker.streams[fileobj] == "stdout" else process.stderr).closed

    # ----- death and replacement ------------------------------------------------------------
    def _on_death(self) -> None:
        old = self.worker
        self._replace(self.words.died.format(pid=old.pid, how=old.death_description()))

    def _replace(self, detail: str) -> None:
        """Stop listening to the current worker, keep what it printed, start a fresh one, and tell
        the owner, with the response of the command that was running, if any."""
        old = self.worker
        self._unregister(old)
        self._drain_streams()
        old.kill()
        self.worker = self._start()
        command, self.command = self.command, None
        fields = None if command is None else {**failure(Status.FAILED, detail + "\n"), "namespace_reset": True}
        self.owner.namespace_lost(detail, fields)

    def _unregister(self, worker: WorkerProcess) -> None:
        for fileobj in (worker.channel, *worker.streams):
            try:
                self.selector.unregister(fileobj)
            except (KeyError, ValueError):
                pass
