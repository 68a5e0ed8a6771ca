"""The server rank's side of its worker process: start it, feed it, read it, notice its death.

The worker is a plain `subprocess` running `core.worker` (see `core.boot`), not a `multiprocessing`
child: it must not inherit the MPI launcher's `PMI_*`/`HYDRA*` variables (its start would fail
inside `MPI_Init` if the user's code imports mpi4py) and it must not re-import the rank's
`__main__`, which imports MPI.
"""
from __future__ import annotations

import functools
import os
import signal
import socket
import subprocess
import sys

import psutil

from core.boot import python_code
from core.wire import cross_memory
from core.wire.command_queue import CommandQueue
from core.wire.messages import CommandRequest, WorkerKind
from core.wire.worker_channel import FrameChannel, frame_bytes

LAUNCHER_VARIABLE_PREFIXES = ("PMI_", "PMIX_", "HYDI_", "HYDRA_", "MPI_LOCAL", "OMPI_", "PRTE_")
WORKER_CODE = python_code("core.worker.__main__", "main(sys.argv)")


def worker_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(LAUNCHER_VARIABLE_PREFIXES)}


FRAME_STALL_LIMIT = 5.0
"""Seconds a worker may pause in the middle of a frame before it counts as broken: well under the
client's heartbeat timeout (10 s), which the rank cannot meet while it waits for the frame."""


class WorkerProcess:
    """One live worker process; make a new one after it dies."""

    def __init__(self, allocate=None, code: str = WORKER_CODE, queued: bool = False) -> None:
        """`allocate(size)`: where the buffers of the worker's frames are received (see
        `core.server.staging`); fresh memory by default. `code`: the worker's `python -c` program
        (rank 0's client-side worker is `core.console.worker`). `queued`: the worker takes its
        commands from a `core.wire.command_queue` (a server's worker), not from its channel."""
        ours, theirs = socket.socketpair()
        lifeline_read, self._lifeline = os.pipe()  # see core.worker._exit_with_server
        os.set_inheritable(self._lifeline, False)
        self.queue = CommandQueue() if queued else None
        queue_fds = (self.queue.worker_end.fileno(),) if self.queue else ()
        with theirs:
            self.process = subprocess.Popen(
                [sys.executable, "-c", code, str(theirs.fileno()), str(lifeline_read),
                 "lend" if cross_memory.available() else "send", *map(str, queue_fds)],
                pass_fds=(theirs.fileno(), lifeline_read, *queue_fds), stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env=worker_environment(), start_new_session=True)
        os.close(lifeline_read)
        self.channel = FrameChannel(ours.detach(), lender_pid=self.process.pid, allocate=allocate,
                                    stall_limit=FRAME_STALL_LIMIT)
        self.streams = {self.process.stdout.fileno(): "stdout", self.process.stderr.fileno(): "stderr"}
        for fd in self.streams:
            os.set_blocking(fd, False)
        self.request: CommandRequest | None = None
        """The command running in the worker, if any."""

    @property
    def pid(self) -> int:
        return self.process.pid

    @functools.cached_property
    def psutil_process(self) -> psutil.Process:
        return psutil.Process(self.process.pid)

    def run(self, request: CommandRequest, buffers: list) -> None:
        """Have the worker run `request` once it is done with what it was given before."""
        self.request = request
        if not self.hand_over(request, buffers):
            self.send(WorkerKind.RUN, request, buffers)

    def hand_over(self, request: CommandRequest, buffers: list) -> bool:
        """Put `request` in the worker's command queue, where it can be taken back until the worker
        takes it; False when the worker has no queue or the command does not fit there."""
        return self.queue is not None and self.queue.put(request.id, frame_bytes(WorkerKind.RUN, request, buffers))

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
        try:
            return os.read(fd, 65536)
        except BlockingIOError:
            return None

    def interrupt(self) -> None:
        try:
            os.kill(self.process.pid, signal.SIGINT)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.close()

    def close(self) -> None:
        os.close(self._lifeline)
        self.channel.close()
        if self.queue is not None:
            self.queue.close()
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
