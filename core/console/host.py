"""Rank 0's side of its client-side worker: code for the Client target, and scripts, run there.

The worker is supervised as a server's is (`core.supervision.supervisor`, started on
`core.console.worker`): a segfault, `os._exit` or an endless loop in client code costs that process
alone, and Interrupt and Restart act on it as on a server's. Its commands are recorded through the
client as commands of `CLIENT_RANK` (`MPICommandClient.open_local_command`), its output and log
records are published as that rank's `ServerOutput`, so the history, the panes and the session log
take them as they take a server's. What this module adds to the supervisor is only what differs
from a server rank: a queue of the client's records, responses given to their futures, and the
worker's CALL frames answered through the client (`core.console.client_calls`).

One thread serves the worker: it sleeps in `select()` on the worker's channel and pipes and a wake
pipe, starts queued commands, batches output (`core.supervision.output_batch`) and answers calls.
It never waits for a command: the answer to a blocking call is sent by the futures' callback once
every response is in. So neither the caller's thread (the Qt main thread) nor this one blocks on the
servers; only the worker does.

Each fresh worker first runs the client-side preload of this process (`core.environment`: `--casa`
gives it the namespace of a casampi client), as a server's worker runs the session's preload.
"""
from __future__ import annotations

import collections
import os
from concurrent.futures import Future
import selectors
import threading
import time
from typing import Any

from core.boot import python_code
from core.console.client_calls import ClientCalls
from core.environment import CLIENT_SIDE_PRELOADS, MPIEnvironment
from core.events import (CLIENT_RANK, CommandFinished, CommandProgress, CommandQueued, CommandStarted, ServerOutput,
                         ServerStatusChanged)
from core.server_state import server_state
from core.stacks import StackReport
from core.supervision.output_batch import OutputBatch
from core.supervision.supervisor import WorkerSupervisor, WorkerWords
from core.supervision.worker_process import WorkerProcess
from core.wire.wake_pipe import WakePipe
from core.wire import blobs
from core.wire.messages import CommandRequest, LogItem, ProgressItem, WorkerKind
from core.wire.responses import Status, failure, rebuild_result

CONSOLE_CODE = python_code("core.console.worker", "main(sys.argv)")
CLOSE_TIMEOUT = 10.0
WORDS = WorkerWords(
    died=("The client-side worker process (pid {pid}) {how}. Its namespace is lost; a fresh worker has "
          "started. The window and the servers are unaffected."),
    restarted="The client-side worker was restarted: its namespace is empty now.")


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
        self._wake_pipe = WakePipe()
        self._closing = self._restarting = self._reset = False
        self._interrupt_id: int | None = None
        """The command an interrupt was asked for, until this thread has passed it on."""
        self._stacks_asked: collections.deque[Future] = collections.deque()
        self._progress: ProgressItem | None = None
        self._batch = OutputBatch()
        self._stop_forwarding = None
        """Ends the forwarding of command events to the worker, once its code has subscribed."""
        self._calls = ClientCalls(client, self._facts, self._forward_events)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._wake_pipe, selectors.EVENT_READ, self._on_wake)
        self._supervisor = WorkerSupervisor(self._selector, self, WORDS, preload=CLIENT_SIDE_PRELOADS.code(),
                                            code=CONSOLE_CODE, frames={WorkerKind.CALL: self._on_call})
        self._thread = threading.Thread(target=self._serve, name="mpipanel-console", daemon=True)
        self._thread.start()

    @property
    def worker(self) -> WorkerProcess:
        """The worker process now (a fresh one after a crash or a restart)."""
        return self._supervisor.worker

    # ----- any thread ---------------------------------------------------------------------
    def run(self, command: str, parameters: dict[str, Any] | None = None, origin: str | None = None,
            shown: str | None = None, *, timeout: float | None = None, grace: float | None = None):
        """Queue `command` for the worker; its `CommandFuture`. Never blocks. Raises the client's
        ValueError/TypeError for a command or parameters it refuses. `origin`, `shown`, `timeout`
        and `grace` as for a push (`MPICommandClient.push_command_request`): the worker is held to
        the limit as a server's is."""
        record = self.client.open_local_command(command, parameters, origin, shown, timeout, grace)
        with self._lock:
            self._queue.append(record)
        self._wake()
        return record.future

    def owns(self, command_id: int) -> bool:
        """True for a command of this worker that is running or queued."""
        with self._lock:
            return any(r.id == command_id for r in (self._record, *self._queue) if r is not None)

    def interrupt(self) -> None:
        """Raise KeyboardInterrupt in the command running in the worker, if any (and again until
        it ends)."""
        record = self._record
        if record is not None:
            self._interrupt_id = record.id
            self._wake()

    def stacks(self) -> Future:
        """Where the worker's running command is now, without stopping it: a future of its
        `core.stacks.StackReport` (rank `CLIENT_RANK`; no threads when nothing runs)."""
        future: Future = Future()
        self._stacks_asked.append(future)
        self._wake()
        return future

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
        if not self._thread.is_alive():  # else it still sleeps on the pipe (a worker slow to die)
            self._wake_pipe.close()

    def _wake(self) -> None:
        self._wake_pipe.wake()

    # ----- the console thread -------------------------------------------------------------
    def _serve(self) -> None:
        self._publish_status()
        supervisor = self._supervisor
        while not self._closing:
            self._start_next()
            timeout = _earliest(supervisor.due_in(time.monotonic()), self._batch.due_in(time.monotonic()))
            for key, _ in self._selector.select(timeout):
                key.data(key.fileobj)
            supervisor.on_timers(time.monotonic())
            if self._batch.due(time.monotonic()):
                self._flush_output()
        self._close_worker()

    def _on_wake(self, pipe: WakePipe) -> None:
        pipe.drain()
        if self._restarting:
            self._restarting = False
            self._supervisor.restart()
        interrupt, self._interrupt_id = self._interrupt_id, None
        running = self._supervisor.running
        if interrupt is not None and running is not None and running.id == interrupt:
            self._supervisor.interrupt()
        while self._stacks_asked:
            threads = self._supervisor.stacks()
            self._stacks_asked.popleft().set_result(StackReport(CLIENT_RANK, self._running_id(), threads))

    def _start_next(self) -> None:
        with self._lock:
            if self._record is not None or not self._queue or self._closing:
                return
            record = self._record = self._queue.popleft()
        self.client.start_local_command(record)
        self._progress = None
        self._publish_status()
        request = CommandRequest(record.id, record.command, time_limit=record.time_limit, grace=record.grace)
        self._supervisor.run(request, record.buffers or [])

    def _on_call(self, payload, buffers: list) -> None:
        self._calls.answer(self._supervisor.worker.channel, payload, buffers)

    def _close_worker(self) -> None:
        """Closing: end the worker, fail what it ran and cancel what waits."""
        self._supervisor.close()
        self._flush_output()
        self._end_forwarding()
        record, self._record = self._record, None
        if record is not None:
            self._finish(record, failure(Status.INTERRUPTED, "The client-side worker was closed.\n"))
        self.cancel([r.id for r in list(self._queue)])
        self._selector.close()

    # ----- what the supervisor reports (`core.supervision.supervisor.Owner`) ----------------
    def add_output(self, stream: str, data: bytes) -> None:
        self._batch.add_output(self._running_id(), stream, data)

    def add_log(self, item: LogItem) -> None:
        self._batch.add_log(item)

    def add_progress(self, item: ProgressItem) -> None:
        self._progress = item
        self.client.publish(CommandProgress(item.command_id, CLIENT_RANK, item.done, item.total, item.text,
                                            item.time))

    def output_due(self) -> bool:
        return self._batch.due(time.monotonic())

    def complete(self, fields: dict[str, Any], buffers: list) -> None:
        self._flush_output()  # what it printed comes before its response
        record, self._record = self._record, None
        self._finish(record, rebuild_result(fields, buffers))
        self._publish_status()

    def preloaded(self, error: str | None) -> None:
        if error is not None:
            self._batch.add_log(LogItem(None, time.time(), 40, "mpipanel.preload",
                                        f"The preload of the client-side worker failed; its "
                                        f"commands run without the rest of it:\n{error}"))

    def namespace_lost(self, detail: str, fields: dict[str, Any] | None) -> None:
        self._end_forwarding()
        self._flush_output()
        record, self._record = self._record, None
        if record is not None and fields is not None:
            self._finish(record, fields)
        self._reset = True  # and the next response says so again, as a server's does
        self._publish_status()

    # ----- responses, output and status ---------------------------------------------------
    def _running_id(self) -> int | None:
        record = self._record
        return record.id if record is not None else None

    def _flush_output(self) -> None:
        items = self._batch.take()
        if items:
            self.client.publish(ServerOutput(CLIENT_RANK, items))

    def _finish(self, record, fields: dict[str, Any]) -> None:
        fields["namespace_reset"] = self._reset or fields.get("namespace_reset", False)
        self._reset = False
        self.client.close_local_command(record, fields)

    def _publish_status(self) -> None:
        record = self._record
        progress = self._progress if record is not None and self._progress is not None else None
        self.client.publish(ServerStatusChanged(CLIENT_RANK, server_state(
            CLIENT_RANK, "busy" if record is not None else "idle",
            command_id=record.id if record is not None else None,
            command=record.command if record is not None else None, queue_length=len(self._queue),
            pid=os.getpid(), worker_pid=self._supervisor.pid, processor=self._facts["hostname"],
            last_heard=time.monotonic(),
            progress=None if progress is None else {"done": progress.done, "total": progress.total,
                                                    "text": progress.text, "time": progress.time})))

    def _forward_events(self) -> None:
        """Send the worker the events of the commands its code pushes (it has subscribed)."""
        if self._stop_forwarding is None:
            self._stop_forwarding = self.client.subscribe(_CommandEvents(self._supervisor.worker.channel))

    def _end_forwarding(self) -> None:
        """The worker has gone: its successor subscribes anew."""
        if self._stop_forwarding is not None:
            self._stop_forwarding()
            self._stop_forwarding = None


def _earliest(*delays: float | None) -> float | None:
    """The soonest of the delays that are set (None: none is)."""
    chosen = [delay for delay in delays if delay is not None]
    return min(chosen) if chosen else None


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
