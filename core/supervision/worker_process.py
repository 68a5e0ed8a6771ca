"""The supervisor's side of a worker process: start it, feed it, read it, notice its death.

The worker is a plain `subprocess` running `core.worker` (see `core.boot`), not a `multiprocessing`
child: it must not inherit the MPI launcher's `PMI_*`/`HYDRA*` variables (its start would fail
inside `MPI_Init` if the user's code imports mpi4py) and it must not re-import the rank's
`__main__`, which imports MPI. It starts with SIGINT and the stack signals blocked: an interrupt or
a request for its stacks that comes before the worker handles them waits for the handler instead of
ending the process (a server's rank ignores SIGINT, which the window's process, rank 0, whose
client-side worker this may be, cannot; a real-time signal ends a process that does not handle it).
`core.worker` unblocks them where it handles them.
"""
from __future__ import annotations

import functools
import os
import select
import signal
import socket
import subprocess
import sys
import time

import psutil

from core.boot import python_code
from core.supervision import thread_states
from core.wire import cross_memory
from core.wire.answers import AnswerRoute, AnswerTerms, StreamReads
from core.wire.command_queue import CommandQueue
from core.wire.messages import FORCED_STACK_SIGNAL, STACK_SIGNAL, STACKS_END, CommandRequest, WorkerKind
from core.wire.worker_channel import FrameChannel, frame_bytes

LAUNCHER_VARIABLE_PREFIXES = ("PMI_", "PMIX_", "HYDI_", "HYDRA_", "MPI_LOCAL", "OMPI_", "PRTE_")
WORKER_CODE = python_code("core.worker.__main__", "main(sys.argv)")


def worker_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(LAUNCHER_VARIABLE_PREFIXES)}


FRAME_STALL_LIMIT = 5.0
"""Seconds a worker may pause in the middle of a frame before it counts as broken: well under the
client's heartbeat timeout (10 s), which the rank cannot meet while it waits for the frame."""
STACKS_WAIT = 1.0
"""Seconds to wait for a stack dump to be whole (the worker may wait for a core)."""
STACKS_GIL_WAIT = 0.5
"""Seconds to wait for the first line of a dump taken with the GIL (`STACK_SIGNAL`) before forcing
one (`FORCED_STACK_SIGNAL`) if the worker's threads are all asleep: C code holds the GIL while it
waits, and then none comes (`core.supervision.thread_states`)."""
STACKS_GIL_PATIENCE = 3.0
"""Seconds to wait for it in all, otherwise: Python that runs lets the GIL go within the switch
interval, but on a busy machine the thread that waits for it may not run for a while. A worker
busy in C code holding the GIL is read by force after that."""
STACKS_QUIET = 0.02
"""A forced dump is over once nothing more of it came for this long (faulthandler writes it in one
go, from its signal handler, and marks no end)."""


class WorkerProcess:
    """One live worker process; make a new one after it dies."""

    def __init__(self, allocate=None, code: str = WORKER_CODE, queued: bool = False,
                 answers: AnswerRoute | None = None) -> None:
        """`allocate(size)`: where the buffers of the worker's frames are received (see
        `core.server.staging`); fresh memory by default. `code`: the worker's `python -c` program
        (rank 0's client-side worker is `core.console.worker`). `queued`: the worker takes its
        commands from a `core.wire.command_queue` (a server's worker), not from its channel.
        `answers`: how a queued worker answers the client itself the commands it is allowed to
        (`core.wire.answers`)."""
        ours, theirs = socket.socketpair()
        lifeline_read, self._lifeline = os.pipe()  # see core.worker._exit_with_server
        os.set_inheritable(self._lifeline, False)
        self._stacks, stacks_write = os.pipe()
        os.set_blocking(self._stacks, False)
        os.set_blocking(stacks_write, False)  # a dump the pipe cannot take is cut, never waited for
        self.queue = CommandQueue() if queued else None
        self.reads = StreamReads() if self.queue and answers is not None else None
        # core.worker's optional arguments: QUEUE_FD [ANSWERS_FD BOARD_FD READS_FD]
        command_fds = (self.queue.worker_end.fileno(),) if self.queue else ()
        if self.reads is not None:
            command_fds += (*answers.fds(), self.reads.fd)
        # the child inherits the mask
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, STACK_SIGNAL, FORCED_STACK_SIGNAL})
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", code, str(theirs.fileno()), str(lifeline_read),
                 "lend" if cross_memory.available() else "send", str(stacks_write), *map(str, command_fds)],
                pass_fds=(theirs.fileno(), lifeline_read, stacks_write, *command_fds), stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env=worker_environment(), start_new_session=True)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
            theirs.close()
        os.close(lifeline_read)
        os.close(stacks_write)
        self.channel = FrameChannel(ours.detach(), lender_pid=self.process.pid, allocate=allocate,
                                    stall_limit=FRAME_STALL_LIMIT)
        self.streams = {self.process.stdout.fileno(): "stdout", self.process.stderr.fileno(): "stderr"}
        for fd in self.streams:
            os.set_blocking(fd, False)

    @property
    def pid(self) -> int:
        return self.process.pid

    @functools.cached_property
    def psutil_process(self) -> psutil.Process:
        return psutil.Process(self.process.pid)

    def run(self, request: CommandRequest, buffers: list, terms: AnswerTerms | None = None) -> None:
        """Have the worker run `request` once it is done with what it was given before; with
        `terms`, it may answer the client itself (`core.wire.answers`)."""
        kind, payload = (WorkerKind.RUN, tuple(request)) if terms is None else (
            WorkerKind.RUN_AND_ANSWER, (tuple(request), tuple(terms)))  # `CommandRequest` says why
        if not self._put(request.id, kind, payload, buffers):
            self.send(kind, payload, buffers)

    def hand_over(self, request: CommandRequest, buffers: list) -> bool:
        """Put `request` in the worker's command queue, where it can be taken back until the worker
        takes it; False when the worker has no queue or the command does not fit there."""
        return self._put(request.id, WorkerKind.RUN, tuple(request), buffers)

    def _put(self, command_id: int, kind: WorkerKind, payload, buffers: list) -> bool:
        return self.queue is not None and self.queue.put(command_id, frame_bytes(kind, payload, buffers))

    def take_back(self, ids: set[int]) -> set[int]:
        """The commands among `ids` still in the queue, taken out of it (`core.wire.command_queue`)."""
        return self.queue.take_back(ids) if self.queue is not None else set()

    def send(self, kind: WorkerKind, payload, buffers=()) -> None:
        """Send a frame the worker reads in its turn (not one it waits for, as a RELEASE); the
        nudge goes first, so that the worker reads a large frame while it is being sent."""
        if self.queue is not None:
            self.queue.nudge()
        self.channel.send(kind, payload, buffers)

    def read_stream(self, fd: int) -> bytes | None:
        """One chunk the worker wrote on that stream; None when nothing waits, b'' at its end."""
        if self.reads is not None:
            self.reads.bump()  # before the read: see `core.wire.answers.StreamReads`
        try:
            return os.read(fd, 65536)
        except BlockingIOError:
            return None

    def interrupt(self) -> None:
        try:
            os.kill(self.process.pid, signal.SIGINT)
        except ProcessLookupError:
            pass

    def dump_stacks(self) -> str | None:
        """Every thread's stack, as faulthandler writes it (`core.stacks`), or what of it came
        within `STACKS_WAIT`; the command runs on meanwhile, even in C code. None when it could not
        be read safely. The worker takes it holding the GIL (`STACK_SIGNAL`) and says when it is
        whole, so that an interrupt sent next cannot find it still reading the frames of the thread
        it unwinds. Only a worker whose GIL stays taken by C code is read from a signal handler
        (`FORCED_STACK_SIGNAL`), and only once its threads show it (`core.supervision.thread_states`):
        read so while Python runs, the frames change under the reader, and the worker crashes."""
        self._read_stacks()  # the tail of an earlier dump that came too late
        before = thread_states.sample(self.pid)
        dump = self._dump(STACK_SIGNAL, STACKS_GIL_WAIT, quiet=None)
        if dump is None and not thread_states.asleep(before, thread_states.sample(self.pid)):
            dump = self._collect(STACKS_GIL_PATIENCE - STACKS_GIL_WAIT, quiet=None)
            after = thread_states.sample(self.pid)
            if dump is None and not (thread_states.asleep(before, after) or thread_states.computing(before, after)):
                return None  # Python may be running, on a machine too busy to let the dump be taken
        if dump is None:
            dump = self._dump(FORCED_STACK_SIGNAL, STACKS_WAIT, quiet=STACKS_QUIET)
        return (dump or b"").replace(STACKS_END, b"").decode("utf-8", "replace")

    def _dump(self, signum: int, first_wait: float, quiet: float | None) -> bytes | None:
        """What the worker wrote on `signum` (see `_collect`)."""
        try:
            os.kill(self.process.pid, signum)
        except ProcessLookupError:
            return b""
        return self._collect(first_wait, quiet)

    def _collect(self, first_wait: float, quiet: float | None) -> bytes | None:
        """What the worker writes on the stacks pipe: up to `STACKS_END`, or (`quiet`) up to a
        pause that long, or what came within `STACKS_WAIT` of its first line; None when nothing
        came within `first_wait`."""
        chunks: list[bytes] = []
        wait = first_wait
        while select.select([self._stacks], [], [], wait)[0]:
            chunk = self._read_stacks()
            if not chunk:
                break
            if not chunks:
                deadline = time.monotonic() + STACKS_WAIT
            chunks.append(chunk)
            if STACKS_END in chunk:
                break
            left = max(0.0, deadline - time.monotonic())
            wait = left if quiet is None else min(quiet, left)
        return b"".join(chunks) if chunks else None

    def _read_stacks(self) -> bytes:
        try:
            return os.read(self._stacks, 1 << 20)
        except BlockingIOError:
            return b""

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.close()

    def close(self) -> None:
        os.close(self._lifeline)
        os.close(self._stacks)
        self.channel.close()
        if self.queue is not None:
            self.queue.close()
        if self.reads is not None:
            self.reads.close()
        self.process.stdout.close()
        self.process.stderr.close()

    def death_description(self) -> str:
        """How the worker ended, for a message: 'was killed by signal SIGSEGV', 'exited with code 3'.

        Its channel closes a moment before the process is gone: wait that moment, not longer.
        """
        if self.channel.broken:
            return f"{self.channel.broken}, and was killed"
        try:
            code = self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "closed its channel to the server"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = str(-code)
            return f"was killed by signal {name}"
        return f"exited with code {code}"
