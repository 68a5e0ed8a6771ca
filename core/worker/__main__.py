"""The process that runs one server's commands. It never imports MPI.

With MPICH a rank killed by a signal ends the whole job, the client included. So the server rank
only supervises, and user code runs here: a segfault, a kill or an `os._exit` ends this process
alone, and the rank reports it and starts a fresh one. Started by `core.supervision.worker_process` as
`python -m core.worker CHANNEL_FD LIFELINE_FD lend|send STACK_FD [QUEUE_FD [ANSWERS_FD BOARD_FD READS_FD]]`,
with the MPI launcher's environment variables removed. A server's worker takes its commands from
the queue its rank fills ahead of time (`core.wire.command_queue`), and the other frames from the
channel in their turn; it answers the client itself where its rank allows (`core.worker.answering`).

Output: fds 1 and 2 are pipes the rank reads (so a C extension's printf is caught too);
`logging` records go to the rank as frames on the channel, tagged with the running command's id.
`progress(done, total, text)` is a builtin, as `print` is (`core.worker.progress`). On
`STACK_SIGNAL`, the stacks thread writes every thread's stack to STACK_FD while it holds the GIL; on
`FORCED_STACK_SIGNAL`, `faulthandler` does from its signal handler, even while C code holds the GIL
(`core.stacks`).
"""
from __future__ import annotations

import array
import builtins
import ctypes
import faulthandler
import fcntl
import io
import logging
import os
import signal
import sys
import termios
import threading
from collections.abc import Callable
from typing import Any

from core import priority
from core.worker.answering import Answering
from core.worker.execution import CommandRunner, set_log_level
from core.worker.progress import ProgressSlot, Reporter
from core.wire import interrupts
from core.wire.answers import AnswerSender, StreamReads
from core.wire.boards import AnsweredWord
from core.wire.command_queue import QueueReader
from core.wire.messages import FORCED_STACK_SIGNAL, STACK_SIGNAL, STACKS_END, CommandRequest, LogItem, WorkerKind
from core.wire.worker_channel import FrameChannel

_libc = ctypes.CDLL(None)


class ChannelLogHandler(logging.Handler):
    """Sends each record to the server rank, tagged with the id of the command running."""

    def __init__(self, channel: FrameChannel):
        super().__init__()
        self.channel = channel
        self.command_id: int | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_info:
                message += "\n" + self.formatException(record.exc_info)
            item = LogItem(self.command_id, record.created, record.levelno, record.name, message)
            self.channel.send(WorkerKind.LOG, item)
        except Exception:  # noqa: BLE001 - logging must never break the command
            self.handleError(record)


def _line_buffered(fd: int) -> io.TextIOWrapper:
    raw = io.FileIO(fd, "w", closefd=False)
    return io.TextIOWrapper(raw, encoding="utf-8", errors="backslashreplace", line_buffering=True)


class StandardStreams:
    """Line-buffered `sys.stdout`/`sys.stderr` on fds 1 and 2, put back after every command.

    A command may close or replace them, at the Python or the file descriptor level; the next
    command still prints where the rank reads.
    """

    def __init__(self) -> None:
        self.stdout = _line_buffered(1)
        self.stderr = _line_buffered(2)
        sys.stdout = sys.__stdout__ = self.stdout
        sys.stderr = sys.__stderr__ = self.stderr
        self._pipes = {fd: (os.dup(fd), _identity(fd)) for fd in (1, 2)}

    def _restore_descriptors(self) -> None:
        for fd, (saved, identity) in self._pipes.items():
            try:
                intact = _identity(fd) == identity
            except OSError:
                intact = False
            if not intact:
                os.dup2(saved, fd)

    def unread(self) -> bool:
        """True when the rank has not read all that was written on fds 1 and 2 so far."""
        waiting = array.array("i", [0])
        for fd in (1, 2):
            fcntl.ioctl(fd, termios.FIONREAD, waiting)
            if waiting[0]:
                return True
        return False

    def flush_and_restore(self) -> None:
        self._restore_descriptors()
        for name in ("stdout", "stderr"):
            current = getattr(sys, name)
            if current is not getattr(self, name):
                try:
                    current.flush()
                except Exception:  # noqa: BLE001 - whatever the user put there
                    pass
            own = getattr(self, name)
            if own.closed:
                own = _line_buffered(1 if name == "stdout" else 2)
                setattr(self, name, own)
            setattr(sys, name, own)
            own.flush()
        _libc.fflush(None)  # printf output of C extensions


def _identity(fd: int) -> tuple[int, int]:
    stat = os.fstat(fd)
    return stat.st_dev, stat.st_ino


PR_SET_PDEATHSIG = 1
"""prctl(2)'s option: the signal this process gets when the thread that started it ends."""


def _exit_with_server(lifeline: int, die_with_parent: bool) -> None:
    """End this process when its server rank dies, even mid-command: the rank holds the only
    write end of the `lifeline` pipe, so a read returns end-of-file exactly then. The thread that
    reads it needs the GIL to end the process, which a command computing in C may hold for
    hours (measured: a worker in `ctypes.PyDLL` `sleep` ran on after its rank was killed). So
    where Linux offers it, with `die_with_parent`, the kernel kills this process too (its
    parent-death signal). That signal follows the *thread* that started the process: a rank's
    main thread starts its workers and lives as long as the rank, whereas the client-side
    worker may be started from any thread, and keeps the lifeline alone."""
    if die_with_parent and sys.platform.startswith("linux"):
        parent = os.getppid()
        if _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0 and os.getppid() != parent:
            os._exit(1)  # the rank died before the signal was asked for

    def watch() -> None:
        takes_forced_stack_signal()
        while os.read(lifeline, 1):
            pass
        os._exit(1)

    threading.Thread(target=watch, name="mpipanel-lifeline", daemon=True).start()


def _dump_stacks_on_request(stack_fd: int) -> None:
    """On each `STACK_SIGNAL`, write every thread's stack to `stack_fd`, then `STACKS_END`, from a
    thread that holds the GIL meanwhile: the other threads are stopped between two bytecodes, their
    frames whole. A dump from a signal handler (faulthandler's own) reads the frames of a thread
    that runs on, and crashed the worker (SIGSEGV) when the interrupt that follows a time limit's
    dump came while it read them (the main thread unwinding the command). The signal stays blocked
    in every thread (`core.supervision.worker_process`): this one takes it with `sigwait`, and a
    request that comes before it does waits for it."""

    # A thread that lets the signal through anyway (C code's, with a mask of its own) takes it
    # without a dump, rather than ending the process: a real-time signal's default action.
    signal.signal(STACK_SIGNAL, lambda signum, frame: None)

    def serve_requests() -> None:
        while True:
            signal.sigwait({STACK_SIGNAL})
            faulthandler.dump_traceback(stack_fd, all_threads=True)
            try:
                os.write(stack_fd, STACKS_END)
            except OSError:
                pass  # the pipe is full: the supervisor reads on until its wait is over

    threading.Thread(target=serve_requests, name="mpipanel-stacks", daemon=True).start()


def takes_forced_stack_signal() -> None:
    """Let `FORCED_STACK_SIGNAL` reach the calling thread, one of the worker's own. The worker
    starts with it blocked (`core.supervision.worker_process`), and its main thread, which runs the
    commands, keeps it so, as do the threads a command starts: a signal ends a sleep in C code
    (EINTR), and reading a stack must not. faulthandler writes every thread's stack from whichever
    thread it lands in."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {FORCED_STACK_SIGNAL})


class Requests:
    """Where the worker's next frame comes from: its channel alone, or (a server's worker) the
    command queue its rank fills, with the channel's frames when their nudge comes."""

    def __init__(self, channel: FrameChannel, queue: QueueReader | None):
        self.channel = channel
        self.queue = queue
        self.read_early = 0
        """Frames read from the channel before their nudge came (`wait_for`): skip that many nudges."""

    def next(self) -> tuple[int, Any, list]:
        """The next frame; raises EOFError once the rank has closed the channel."""
        if self.queue is None:
            return self.channel.receive()
        while True:
            frame = self.queue.take()
            if frame is not None:
                return self.channel.decode(frame)
            if not self.read_early:
                return self.channel.receive()
            self.read_early -= 1

    def wait_for(self, kinds: set[int], handle: Callable[[int, Any], None]) -> int:
        """The rank's next frame of one of `kinds` (its RELEASE or RESEND of a lent result, its
        DRAINED), before anything else runs; other frames meanwhile go to `handle`."""
        while True:
            kind, payload, _ = self.channel.receive()
            if kind in kinds:
                return kind
            handle(kind, payload)
            if self.queue is not None:
                self.read_early += 1


def serve(channel: FrameChannel, lend: bool, queue: QueueReader | None = None,
          answering: Answering | None = None) -> None:
    """Run commands until the rank closes the channel. With `lend`, a large result is lent to
    the rank (see `core.wire.worker_channel`) and kept here until the rank says it has its copy.
    With `queue`, the commands come from there (`core.wire.command_queue`); with `answering`, those
    the rank allows are answered to the client from here (`core.worker.answering`)."""
    streams = StandardStreams()
    handler = ChannelLogHandler(channel)
    logging.getLogger().addHandler(handler)
    set_log_level(handler, logging.INFO)
    runner = CommandRunner()
    slot = ProgressSlot()
    builtins.progress = slot.progress
    reporter = Reporter(channel, slot, takes_forced_stack_signal)

    def interrupt(signum, frame):
        if answering is not None:
            answering.interrupted = True
        if runner.executing:
            interrupts.interrupt()  # at once, or when a frame being written is out

    signal.signal(signal.SIGINT, interrupt)
    # Rank 0's client-side worker starts with SIGINT blocked (see core.console.host), so that an
    # early interrupt cannot end it; from here on an interrupt is handled, so let it through.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})

    def handle(kind: int, payload: Any) -> None:
        if kind == WorkerKind.PRELOAD:  # the first frame: the worker is ready (None: no preload)
            error = None
            if payload is not None:
                reporter.busy(None)  # a preload (CASA's imports) may take long: beats show it alive
                error = runner.preload(payload)
                streams.flush_and_restore()
                reporter.idle()
            channel.send(WorkerKind.PRELOADED, error)
        if kind == WorkerKind.SET_LOG_LEVEL:
            set_log_level(handler, payload)

    requests = Requests(channel, queue)
    while True:
        try:
            kind, request, buffers = requests.next()
        except EOFError:
            return
        terms = None  # the rank answers, unless it allows this process to (`core.wire.answers`)
        if kind == WorkerKind.RUN_AND_ANSWER:
            request, terms = request
            if answering is None:
                terms = None
            else:
                answering.begin()
        elif kind != WorkerKind.RUN:
            handle(kind, request)
            continue
        request = CommandRequest._make(request)
        handler.command_id = request.id
        reporter.busy(request.id)
        fields, result = runner.run(request, buffers)
        streams.flush_and_restore()
        reporter.idle()
        handler.command_id = None
        # The rank reads fds 1 and 2 as pipes, and puts what it reads down to the command it
        # believes runs. With a queue, the next command starts as soon as this DONE is sent, so
        # output of this one still unread then would be put down to the next: wait till it is read.
        drain = queue is not None and streams.unread()
        if drain:
            fields["drain"] = True
        elif terms is not None and answering.answer(request, terms, fields, result):
            channel.send(WorkerKind.DONE, {"answered": True})  # all the rank needs: the response is out
            continue
        try:
            if (channel.send(WorkerKind.DONE, fields, result, lend=lend)
                    and requests.wait_for({WorkerKind.RELEASE, WorkerKind.RESEND}, handle) == WorkerKind.RESEND):
                lend = False  # the rank cannot read this process's memory
                channel.send(WorkerKind.DONE, fields, result)
            if drain:
                requests.wait_for({WorkerKind.DRAINED}, handle)
        except EOFError:
            return


def main(argv: list[str], open_channel=FrameChannel, die_with_parent: bool = True) -> None:
    """`open_channel(fd)`: the channel `serve` reads and writes (rank 0's client-side worker wraps
    the frame channel to answer its proxied calls, see `core.console.worker`); `die_with_parent`:
    see `_exit_with_server`."""
    channel_fd, lifeline_fd, results, stack_fd = int(argv[1]), int(argv[2]), argv[3], int(argv[4])
    priority.session_follows_process()  # the worker's session is a group of its own
    faulthandler.register(FORCED_STACK_SIGNAL, file=stack_fd, all_threads=True, chain=False)
    _dump_stacks_on_request(stack_fd)
    _exit_with_server(lifeline_fd, die_with_parent)
    queue = QueueReader(int(argv[5])) if len(argv) > 5 else None
    channel = open_channel(channel_fd)
    answering = (Answering(AnswerSender(int(argv[6])), AnsweredWord(int(argv[7])), StreamReads(int(argv[8])), channel)
                 if len(argv) > 8 else None)
    serve(channel, lend=results == "lend", queue=queue, answering=answering)


if __name__ == "__main__":
    main(sys.argv)
