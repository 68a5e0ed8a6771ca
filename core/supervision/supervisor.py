"""One worker process under supervision, for whoever runs user code in one: written once for both.

A server rank (`core.server.rank`, isolation 'process') and rank 0 for its client-side worker
(`core.console.host`) both run commands in a `WorkerProcess`; what they do with it is the same and
lives here: feed it a command, handle its frames by kind (`_frames`), relay its stdout and stderr
(drained before a response, so that what a command printed comes first) and its progress, send an
interrupt again until it lands, hold the command to its time limit (its stack taken, an interrupt,
the worker killed after the grace; `core.supervision.running_command`), read the stacks of its
threads without stopping it (`core.stacks`), tell how long the worker has shown no sign of life,
and when the worker dies, fail the running command naming how, start a fresh worker (which runs
the preload before anything else) and say that the namespace is lost.

What differs stays with the owner (`Owner`): where output and responses go (MPI messages to the
client; the client's futures and events), the words of its messages (`WorkerWords`), and frames
only it takes (the client-side worker's calls). The supervisor registers the worker's channel and
pipes in the owner's selector, with callbacks called as `key.data(key.fileobj)`, so the owner
sleeps in one `select()`; it asks to be called at `due_in(now)` (`on_timers`) for what is due.
Everything here runs on the owner's one thread.

A server's worker is also handed the commands queued behind the one it runs (`hand_over`, at most
`AHEAD`), which it starts one after the other without waiting for its rank
(`core.wire.command_queue`). What acts on one command never reaches another: the commands handed
over and not started are taken back first (`take_back`: a cancel, a recall, an interrupt, a stop, a
restart, a time limit's step, a stack request), after which the worker runs only `command`. A
command handed over starts when the worker has ended the one before: its `RunningCommand` (its
time limit, its stack, its progress) begins when that one's DONE is read, never earlier.
"""
from __future__ import annotations

import collections
import logging
import selectors
import time
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import psutil

from core import stacks
from core.stacks import ThreadStack
from core.supervision.running_command import RunningCommand, Step
from core.supervision.worker_process import WORKER_CODE, WorkerProcess
from core.wire.answers import AnswerRoute, AnswerTerms
from core.wire.messages import CommandRequest, LogItem, ProgressItem, WorkerKind
from core.wire.responses import Status

AHEAD = 32
"""Commands handed to a worker ahead of the one it runs, at most (`core.wire.command_queue`)."""


class Owner(Protocol):
    """What a supervisor reports to whoever runs it."""

    def add_output(self, stream: str, data: bytes) -> None:
        """Bytes the worker wrote on 'stdout' or 'stderr'."""

    def add_log(self, item: LogItem) -> None:
        """A log record of the worker (or of the supervisor, about it)."""

    def add_progress(self, item: ProgressItem) -> None:
        """The running command's latest progress (`core.worker.progress`)."""

    def output_due(self) -> bool:
        """True when the output gathered so far must go before more is read."""

    def complete(self, fields: dict[str, Any], buffers: list) -> None:
        """The running command is over: its response fields and its result's buffers."""

    def preloaded(self, error: str | None) -> None:
        """The preload ran in a fresh namespace: None, or the traceback of its failure."""

    def namespace_lost(self, detail: str, fields: dict[str, Any] | None) -> None:
        """A fresh worker took over (the old one died, or was replaced on purpose): `detail` says
        why; `fields` is the response of the command that was running then, if one was."""

    def give_back(self, items: list[tuple[CommandRequest, list]]) -> None:
        """Commands handed over ahead of time (`WorkerSupervisor.hand_over`) that the worker never
        started, `(request, buffers)` in order: they go back to the head of the owner's queue.
        Only an owner that hands commands over is called."""


class WorkerWords(NamedTuple):
    """How the owner's messages name its worker; `{pid}` and `{how}` are filled in."""

    died: str
    """The worker died under its own steam: '... (pid {pid}) {how}. Its namespace is lost; ...'."""
    restarted: str
    """The owner asked for a fresh worker."""


FrameHandler = Callable[[Any, list], None]
Response = Callable[[RunningCommand, float], dict[str, Any]]
"""The response fields of the command that was running when its worker was replaced (at `now`)."""


class WorkerSupervisor:
    def __init__(self, selector: selectors.BaseSelector, owner: Owner, words: WorkerWords, *,
                 preload: str | None = None, log_level: int = logging.INFO, code: str = WORKER_CODE,
                 allocate=None, frames: dict[WorkerKind, FrameHandler] | None = None, queued: bool = False,
                 answers: AnswerRoute | None = None):
        """`preload`: code every fresh worker runs first; `code`: the worker's program
        (`core.worker`, or the client-side worker's); `allocate(size)`: where the buffers of its
        frames go (`core.wire.worker_channel`); `frames`: handlers of frame kinds only the owner
        takes, `handler(payload, buffers)`; `queued`: commands may be handed over ahead of time
        (`hand_over`, a server's worker); `answers`: how each of its workers answers the client
        itself (`core.wire.answers`)."""
        self.selector = selector
        self.owner = owner
        self.words = words
        self.preload = preload
        self.log_level = log_level
        self._code = code
        self._allocate = allocate
        self._queued = queued
        self._answers = answers
        self._frames: dict[WorkerKind, FrameHandler] = {
            WorkerKind.LOG: self._on_log, WorkerKind.DONE: self._on_done, WorkerKind.PRELOADED: self._on_preloaded,
            WorkerKind.PROGRESS: self._on_progress, WorkerKind.BEAT: self._on_beat, **(frames or {})}
        """What a frame from the worker does, by its kind."""
        self.command: RunningCommand | None = None
        self.ahead: collections.deque[tuple[CommandRequest, list]] = collections.deque()
        """`(request, buffers)` handed to the worker behind `command`, in order (`hand_over`)."""
        self._read_aside = False
        """Frames were read outside `_on_channel_ready` (`_on_stream`, `take_back`) since it last
        ran: what the owner's `select()` found on the channel may be gone."""
        self._heard = time.monotonic()
        """When the worker last showed a sign of life (a frame, output)."""
        self._ready = False
        """The worker has said PRELOADED: it has started, and run its preload if any."""
        self.worker = self._start()

    @property
    def pid(self) -> int:
        return self.worker.pid

    @property
    def running(self) -> CommandRequest | None:
        """The command running in the worker, if any."""
        return self.command.request if self.command is not None else None

    @property
    def handed_over(self) -> int:
        return len(self.ahead)

    # ----- what the owner asks --------------------------------------------------------------
    def run(self, request: CommandRequest, buffers: list, terms: AnswerTerms | None = None) -> None:
        """Start `request`; with `terms`, its worker may answer the client itself on them
        (`core.wire.answers`), and its DONE then says `answered`."""
        self.command = RunningCommand(request, time.monotonic())
        if not self._ready:
            self.command.hold()
        self._heard = self.command.started
        self.worker.run(request, buffers, terms)

    def hand_over(self, request: CommandRequest, buffers: list) -> bool:
        """Give the worker `request` now, to start as soon as it has ended the running command and
        those handed over before; False: it waits with the owner (nothing runs, the running command
        is being interrupted or stopped, `AHEAD` are handed over, or it does not fit the queue)."""
        command = self.command
        if (not self._queued or command is None or command.interrupt_sent is not None or command.kill_at is not None
                or len(self.ahead) >= AHEAD or not self.worker.hand_over(request, buffers)):
            return False
        self.ahead.append((request, buffers))
        return True

    def take_back(self, ids: set[int] | None = None) -> None:
        """Take back the commands handed over that the worker has not started (given `ids`: unless
        none of those is among them) and give them back to the owner (`Owner.give_back`), so that a
        cancel, a recall, an interrupt or a stop finds every command where it would be had none been
        handed over. The worker started the others after it had sent the DONE of the one before
        (`core.worker`): those DONEs are read now, so that `command` is what runs, and the worker
        will start nothing more."""
        if not self.ahead or (ids is not None and not ids & {request.id for request, _ in self.ahead}):
            return
        returned = self.worker.take_back({request.id for request, _ in self.ahead})
        given = [item for item in self.ahead if item[0].id in returned]
        self.ahead = collections.deque(item for item in self.ahead if item[0].id not in returned)
        worker = self.worker
        while self.ahead and self.worker is worker:
            self._read_aside = True
            self._on_frames(worker.channel)
        if given:
            self.owner.give_back(given)

    def interrupt(self) -> None:
        """Raise KeyboardInterrupt in the running command, now and again until it ends."""
        self.take_back()
        if self.command is not None:
            self.command.interrupted(time.monotonic())
            self.worker.interrupt()

    def stop_running(self, grace: float) -> None:
        """A forced stop: interrupt the running command, and kill its worker if it has not ended
        `grace` seconds later."""
        self.take_back()
        if self.command is not None:
            self.command.stop(time.monotonic(), grace)
            self.interrupt()

    def restart(self) -> bool:
        """Replace the worker by a fresh one now (the running command fails, saying why)."""
        detail = self.words.restarted
        self.take_back()
        self._replace(detail, lambda command, now: command.ended_by_force(detail, Status.FAILED, now))
        return True

    def stacks(self) -> list[ThreadStack]:
        """The running command's threads now, without stopping it (none when nothing runs): what
        the worker ended is read first, so that they are `command`'s."""
        self.take_back()
        if self.command is None:
            return []
        dump = self.worker.dump_stacks()
        return stacks.command_threads(stacks.parse_faulthandler(dump)) if dump is not None else [stacks.NOT_READ]

    def worker_silence(self, now: float) -> float:
        """Seconds the worker has shown no sign of life while it runs a command (0 when it runs
        none, or has sent what is not read yet: the owner was busy, or paused its output)."""
        if self.command is None or self.worker.channel.poll():
            return 0.0
        return max(0.0, now - self._heard)

    def set_log_level(self, level: int) -> None:
        self.log_level = level
        self.worker.send(WorkerKind.SET_LOG_LEVEL, level)

    def due_in(self, now: float) -> float | None:
        """Seconds until `on_timers` has something to do; None when nothing is pending."""
        return self.command.due_in(now) if self.command is not None else None

    def on_timers(self, now: float) -> None:
        command = self.command
        step = command.step(now) if command is not None else None
        if step is not None and self.ahead:  # it must reach this command, not the next
            self.take_back()
            command = self.command
            step = command.step(now) if command is not None else None
        if step is Step.EXPIRE:
            command.expire(now, stacks.format_threads(self.stacks()))
        if step in (Step.EXPIRE, Step.INTERRUPT):
            command.interrupted(now)
            self.worker.interrupt()
        elif step is Step.KILL:
            detail, fields = command.killed(self.worker.pid, now)
            self._replace(detail, lambda command, now: fields)

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
        worker = WorkerProcess(allocate=self._allocate, code=self._code, queued=self._queued, answers=self._answers)
        self._ready = False
        if self.log_level != logging.INFO:
            worker.send(WorkerKind.SET_LOG_LEVEL, self.log_level)
        self.selector.register(worker.channel, selectors.EVENT_READ, self._on_channel_ready)
        for fd in worker.streams:
            self.selector.register(fd, selectors.EVENT_READ, self._on_stream)
        # Before any command, with a preload or without: the worker says PRELOADED once it is
        # ready, and a command given it meanwhile starts its time limit then, not while the
        # worker starts (seconds, on a loaded machine).
        worker.send(WorkerKind.PRELOAD, self.preload)
        return worker

    def _on_channel_ready(self, channel) -> None:
        """The owner's `select()` found the channel readable. What it found may have been read
        since, in the same round of `select()` (by `_on_stream` or `take_back`, `_read_aside`), or
        the worker replaced: a read now would wait for a frame that is not coming, and take the
        worker for wedged after `FRAME_STALL_LIMIT`. Only then is the channel polled again (a
        system call, on a single command's round trip)."""
        if channel is not self.worker.channel:
            return
        if self._read_aside:
            self._read_aside = False
            if not channel.poll():
                return
        self._on_frames(channel)

    def _on_frames(self, channel) -> None:
        """Handle the frames waiting, until the output gathered is due: the owner's loop must come
        round to send it, and to pause a flood of log records (one batch of 1 MB records held
        16 MB, and the client took them 64 batches at a time). Once nothing runs, a frame that
        may have come meanwhile waits for the owner's next `select()`: a poll after each
        command's DONE would find nothing (a system call on a single command's round trip)."""
        try:
            while True:
                kind, payload, buffers = channel.receive()
                self._heard = time.monotonic()
                handler = self._frames.get(kind)
                if handler is None:
                    self.owner.add_log(LogItem(None, time.time(), 40, "mpipanel.supervisor",
                                               f"Internal error: the worker (pid {self.worker.pid}) sent a frame "
                                               f"of kind {kind!r}, which its supervisor does not handle; dropped."))
                else:
                    handler(payload, buffers)
                if self.owner.output_due() or self.command is None or not channel.poll():
                    return
        except (EOFError, OSError):
            self._on_death()

    def _on_log(self, item: LogItem, buffers: list) -> None:
        self.owner.add_log(item)

    def _on_done(self, fields: dict[str, Any], buffers: list) -> None:
        """A command is over, and the worker has started the next one handed over, if any. Output
        it left unread (its worker said so, and waits for DRAINED) is its own; any other was read
        as it came (`_on_stream`), and what the pipes hold now is the next command's. A worker
        that takes its commands from a queue (`queued`) always says whether it left output
        unread, so only one that does not is drained (two reads of empty pipes a command)."""
        drain = fields.pop("drain", False)
        if drain or not (self.ahead or self._queued):
            self._drain_streams()
        now = time.monotonic()
        command, self.command = self.command, None
        if command is not None:
            fields = command.outcome(fields, now)
        if self.ahead:
            self.command = RunningCommand(self.ahead.popleft()[0], now)
        self.owner.complete(fields, buffers)
        if drain:
            self.worker.channel.send(WorkerKind.DRAINED, None)

    def _on_preloaded(self, error: str | None, buffers: list) -> None:
        """The worker is ready, its preload (if any) over: a command handed over meanwhile starts
        now, and its time limit with it."""
        self._drain_streams()
        self._ready = True
        if self.command is not None:
            self.command.start_clock(time.monotonic())
        self.owner.preloaded(error)

    def _on_progress(self, item: ProgressItem, buffers: list) -> None:
        self.owner.add_progress(item)

    def _on_beat(self, payload: None, buffers: list) -> None:
        """Only a sign of life (`_heard`)."""

    def _on_stream(self, fd: int) -> None:
        """`fd`, as the owner's `select()` found it: a callback before this one in the same round
        may have replaced the worker (its death, a restart), closing `fd`, whose number its
        successor's pipes and channel may have taken since. Only the current worker's streams are
        read: a read of another number would take its frames, or fail."""
        if fd not in self.worker.streams:
            return
        if self.ahead and self.worker.channel.poll():
            # The worker may have ended the command running and started the next, which wrote
            # this: the DONE came first, so take the frames first.
            self._read_aside = True
            self._on_frames(self.worker.channel)
            if fd not in self.worker.streams:
                return  # the worker died meanwhile, and its streams are drained
        data = self.worker.read_stream(fd)
        if data == b"":
            self.selector.unregister(fd)
        elif data:
            self._heard = time.monotonic()
            self.owner.add_output(self.worker.streams[fd], data)

    def _drain_streams(self) -> None:
        for fd, stream in self.worker.streams.items():
            while data := self.worker.read_stream(fd):
                self.owner.add_output(stream, data)

    def pause_output(self, paused: bool) -> None:
        """Stop or resume reading the worker's pipes and its channel, whose log records are output
        too: a paused worker blocks in `write` or `send`, so that a flood of either costs bounded
        memory (its response, after them on the channel, waits as it must)."""
        for fileobj, on_ready in ((self.worker.channel, self._on_channel_ready),
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
        detail = self.words.died.format(pid=old.pid, how=old.death_description())
        self._replace(detail, lambda command, now: {**command.ended_by_force(detail, Status.FAILED, now),
                                                    "worker_died": True})

    def _replace(self, detail: str, response: Response) -> None:
        """Stop listening to the current worker, keep what it printed, start a fresh one, and tell
        the owner, with the `response` of the command that was running, if any. What was handed
        over goes back to the owner, to run in the fresh worker: the old one started none of it (it
        sends a command's DONE before it starts the next, and the frames before its death are
        read first; `restart` and the time limit's kill take back first)."""
        old = self.worker
        self._unregister(old)
        self._drain_streams()
        old.kill()
        returned, self.ahead = list(self.ahead), collections.deque()
        self.worker = self._start()
        command, self.command = self.command, None
        if returned:
            self.owner.give_back(returned)
        self.owner.namespace_lost(detail, None if command is None else response(command, time.monotonic()))

    def _unregister(self, worker: WorkerProcess) -> None:
        for fileobj in (worker.channel, *worker.streams):
            try:
                self.selector.unregister(fileobj)
            except (KeyError, ValueError):
                pass
