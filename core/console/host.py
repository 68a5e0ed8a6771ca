"""Rank 0's side of its client-side worker: code for the Client target, and scripts, run there.

The worker is a `core.server.worker_process.WorkerProcess` started on `core.console.worker`: a
segfault, `os._exit` or an endless loop in client code costs that process alone, and Interrupt and
Restart act on it as on a server's. Its commands are recorded through the client as commands of
`CLIENT_RANK` (`MPICommandClient.open_local_command`), its output and log records are published as
that rank's `ServerOutput`, so the history, the panes and the session log take them as they take a
server's.

One thread serves the worker: it sleeps in `select()` on the worker's channel and pipes and a wake
pipe, starts queued commands, batches output (`core.server.output_batch`) and answers the worker's
CALL frames through the client (`core.console.client_calls`). It never waits for a command: the
answer to a blocking call is sent by the futures' callback once every response is in. So neither
the caller's thread (the Qt main thread) nor this one blocks on the servers; only the worker does.

Each fresh worker first runs the client-side preload of this process (`core.environment`: `--casa`
gives it the namespace of a casampi client), as a server's worker runs the session's preload.
"""
from __future__ import annotations

import collections
import os
import select
import signal
import threading
import time
from typing import Any

from core.boot import python_code
from core.console.client_calls import ClientCalls
from core.environment import CLIENT_SIDE_PRELOADS, MPIEnvironment
from core.events import CLIENT_RANK, CommandFinished, CommandQueued, CommandStarted, ServerOutput, ServerStatusChanged
from core.server.output_batch import OutputBatch
from core.server_state import server_state
from core.server.worker_process import WorkerProcess
from core.wire import blobs
from core.wire.messages import CommandRequest, LogItem, WorkerKind
from core.wire.responses import Status, failure, rebuild_result

CONSOLE_CODE = python_code("core.console.worker", "main(sys.argv)")
CLOSE_TIMEOUT = 10.0
INTERRUPT_RETRY = 0.25
"""An interrupt that did not land (the command was between two steps) is sent again this often,
until the command ends, as a server rank does."""


def _start_worker() -> WorkerProcess:
    """A fresh worker, started with SIGINT blocked: a server's worker inherits an ignored SIGINT
    from its rank, which the GUI's process cannot ignore; blocked, an interrupt that comes before
    the worker handles it waits for the handler (`core.worker.serve` unblocks it) instead of
    ending the process."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        worker = WorkerProcess(code=CONSOLE_CODE)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    preload = CLIENT_SIDE_PRELOADS.code()
    if preload is not None:
        worker.channel.send(WorkerKind.PRELOAD, preload)  # runs before any command
    return worker


class ConsoleHost:
    """A client-side worker for a started client; `close()` it before stopping the client."""

    def __init__(self, client):
        self.client = client
        self._facts = {"launch_mode": MPIEnvironment.launch_mode, "mpi_world_size": MPIEnvironment.mpi_world_size,
                       "hostname": MPIEnvironment.hostname, "mpi_library": MPIEnvironment.mpi_library,
                       "mpi4py_version": MPIEnvironment.mpi4py_version, "isolation": client.isolation}
        self._queue: collections.deque = collections.deque()
        self._record = None
        """The command running in the worker, if any."""
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = os.pipe()
        for fd in (self._wake_r, self._wake_w):
            os.set_blocking(fd, False)
        self._closing = self._restarting = self._reset = False
        self._batch = OutputBatch()
        self._interrupting: tuple[int, float] | None = None
        """The command being interrupted, and when the signal was last sent."""
        self._stop_forwarding = None
        """Ends the forwarding of command events to the worker, once its code has subscribed."""
        self._calls = ClientCalls(client, self._facts, self._forward_events)
        self.worker = _start_worker()
        self._thread = threading.Thread(target=self._serve, name="mpipanel-console", daemon=True)
        self._thread.start()

    # ----- any thread ---------------------------------------------------------------------
    def run(self, command: str, parameters: dict[str, Any] | None = None, origin: str | None = None,
            shown: str | None = None):
        """Queue `command` for the worker; its `CommandFuture`. Never blocks. Raises the client's
        ValueError/TypeError for a command or parameters it refuses. `origin` and `shown` as for a
        push (`MPICommandClient.push_command_request`)."""
        record = self.client.open_local_command(command, parameters, origin, shown)
        with self._lock:
            self._queue.append(record)
        self._wake()
        return record.future

    def owns(self, command_id: int) -> bool:
        """True for a command of this worker that is running or queued."""
        with self._lock:
            return any(r.id == command_id for r in (self._record, *self._queue) if r is not None)

    def interrupt(self) -> None:
        """Raise KeyboardInterrupt in the command running in the worker, if any (again every
        `INTERRUPT_RETRY` seconds until it ends)."""
        record = self._record
        if record is not None:
            self._interrupting = (record.id, time.monotonic())
            self.worker.interrupt()
            self._wake()

    def cancel(self, command_ids: list[int]) -> None:
        with self._lock:
            cancelled = [r for r in self._queue if r.id in command_ids]
            for record in cancelled:
                self._queue.remove(record)
        for record in cancelled:
            self._finish(record, failure(Status.CANCELLED, "Cancelled before it started.\n"))

    def restart(self) -> None:
        """Replace the worker with a fresh one (a command running there fails, saying why)."""
        self._restarting = True
        self._wake()

    def close(self) -> None:
        """End the worker, interrupting what runs and cancelling what waits."""
        self._closing = True
        self._wake()
        self._thread.join(CLOSE_TIMEOUT)
        os.close(self._wake_r)
        os.close(self._wake_w)

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"\0")
        except BlockingIOError:
            pass

    # ----- the console thread -------------------------------------------------------------
    def _serve(self) -> None:
        self._publish_status()
        while self._serve_worker(self.worker):
            self.worker = _start_worker()
            self._publish_status()

    def _serve_worker(self, worker: WorkerProcess) -> bool:
        """Serve `worker` until it ends; True when a fresh one is to take over."""
        streams = list(worker.streams)
        while True:
            self._start_next(worker)
            ready, _, _ = select.select([worker.channel, self._wake_r, *streams], [], [], self._timeout())
            self._retry_interrupt(worker)
            if self._wake_r in ready:
                while self._read_wake():
                    pass
            if (self._closing or self._restarting) and worker.process.poll() is None:
                worker.process.kill()  # its channel ends, and this loop with it
            for fd in streams:
                if fd in ready:
                    data = worker.read_stream(fd)
                    if data == b"":
                        streams.remove(fd)
                    elif data:
                        self._batch.add_output(self._running_id(), worker.streams[fd], data)
            if worker.channel in ready and not self._on_frames(worker):
                return self._on_end(worker)
            if self._batch.due(time.monotonic()):
                self._flush_output()

    def _timeout(self) -> float | None:
        due = self._batch.due_in(time.monotonic())
        if self._interrupting is not None:
            due = INTERRUPT_RETRY if due is None else min(due, INTERRUPT_RETRY)
        return due

    def _retry_interrupt(self, worker: WorkerProcess) -> None:
        interrupting = self._interrupting
        if interrupting is None:
            return
        if interrupting[0] != self._running_id():
            self._interrupting = None
        elif time.monotonic() - interrupting[1] >= INTERRUPT_RETRY:
            self._interrupting = (interrupting[0], time.monotonic())
            worker.interrupt()

    def _read_wake(self) -> bytes:
        try:
            return os.read(self._wake_r, 512)
        except BlockingIOError:
            return b""

    def _running_id(self) -> int | None:
        record = self._record
        return record.id if record is not None else None

    def _start_next(self, worker: WorkerProcess) -> None:
        with self._lock:
            if self._record is not None or not self._queue or self._closing:
                return
            record = self._record = self._queue.popleft()
        self.client.start_local_command(record)
        self._publish_status()
        worker.run(CommandRequest(record.id, record.command), record.buffers or [])

    def _on_frames(self, worker: WorkerProcess) -> bool:
        """Handle every frame waiting; False once the worker's channel has ended."""
        try:
            while True:
                kind, payload, buffers = worker.channel.receive()
                if kind == WorkerKind.LOG:
                    self._batch.add_log(payload)
                    if self._batch.due(time.monotonic()):
                        return True  # the loop sends the full batch, and comes back for more
                elif kind == WorkerKind.CALL:
                    self._calls.answer(worker.channel, payload, buffers)
                elif kind == WorkerKind.PRELOADED and payload is not None:
                    self._batch.add_log(LogItem(None, time.time(), 40, "mpipanel.preload",
                                                f"The preload of the client-side worker failed; its "
                                                f"commands run without the rest of it:\n{payload}"))
                elif kind == WorkerKind.DONE:
                    self._drain(worker)
                    record, self._record = self._record, None
                    self._finish(record, rebuild_result(payload, buffers))
                    self._publish_status()
                if not worker.channel.poll():
                    return True
        except (EOFError, OSError):
            return False

    def _drain(self, worker: WorkerProcess) -> None:
        """Publish everything the worker printed so far: it comes before its response."""
        for fd, stream in worker.streams.items():
            while data := worker.read_stream(fd):
                self._batch.add_output(self._running_id(), stream, data)
        self._flush_output()

    def _flush_output(self) -> None:
        items = self._batch.take()
        if items:
            self.client.publish(ServerOutput(CLIENT_RANK, items))

    def _finish(self, record, fields: dict[str, Any]) -> None:
        fields["namespace_reset"] = self._reset or fields.get("namespace_reset", False)
        self._reset = False
        self.client.close_local_command(record, fields)

    def _on_end(self, worker: WorkerProcess) -> bool:
        """The worker has ended: fail what it ran, saying why; True when a fresh one takes over."""
        self._drain(worker)
        how = worker.death_description()
        worker.kill()
        if self._stop_forwarding is not None:
            self._stop_forwarding()
            self._stop_forwarding = None
        record, self._record = self._record, None
        if self._closing:
            if record is not None:
                self._finish(record, failure(Status.INTERRUPTED, "The client-side worker was closed.\n"))
            self.cancel([r.id for r in list(self._queue)])
            return False
        if self._restarting:
            detail = "The client-side worker was restarted: its namespace is empty now.\n"
        else:
            detail = (f"The client-side worker process (pid {worker.pid}) {how}. Its namespace is lost; "
                      f"a fresh worker has started. The window and the servers are unaffected.\n")
        self._restarting = False
        if record is not None:
            self._finish(record, {**failure(Status.FAILED, detail), "namespace_reset": True})
        self._reset = True  # and the next response says so again, as a server's does
        return True

    def _publish_status(self) -> None:
        record = self._record
        self.client.publish(ServerStatusChanged(CLIENT_RANK, server_state(
            CLIENT_RANK, "busy" if record is not None else "idle",
            command_id=record.id if record is not None else None,
            command=record.command if record is not None else None, queue_length=len(self._queue),
            pid=os.getpid(), worker_pid=self.worker.pid, processor=self._facts["hostname"],
            last_heard=time.monotonic())))

    def _forward_events(self) -> None:
        """Send the worker the events of the commands its code pushes (it has subscribed)."""
        if self._stop_forwarding is None:
            self._stop_forwarding = self.client.subscribe(_CommandEvents(self.worker.channel))


class _CommandEvents:
    """Sends the worker CommandStarted and CommandFinished (without `ret`) of the commands its
    code pushed: those queued with a console origin ('client', 'script:LINE'). The events come
    in order, so a command's CommandQueued says whose it is before its other events."""

    def __init__(self, channel):
        self.channel = channel
        self.pushed: set[int] = set()

    def __call__(self, event) -> None:
        if isinstance(event, CommandQueued):
            if event.origin is not None and (event.origin == "client" or event.origin.startswith("script:")):
                self.pushed.add(event.id)
            return
        if isinstance(event, CommandStarted) and event.id in self.pushed:
            self._send(event)
        elif isinstance(event, CommandFinished) and event.response["id"] in self.pushed:
            self.pushed.discard(event.response["id"])
            self._send(CommandFinished({k: v for k, v in event.response.items() if k != "ret"}))

    def _send(self, event) -> None:
        try:
            self.channel.send(WorkerKind.EVENT, None, blobs.pack(event))
        except OSError:
            pass  # the worker has gone; its successor subscribes anew
