"""The one place where the core meets Qt: core events in, Qt signals out, the window's requests in.

Core events arrive on the client's progress thread. Rare ones (a command queued, started or
finished; a server's status) become queued signals at once. Server output can arrive as a flood,
so it is never signalled per message: it piles up per server in a bounded buffer, and a GUI-thread
timer hands each server's pile to the panes every `OUTPUT_INTERVAL_MS`, saying how much was dropped
when a pile overflowed. Widgets never see a thread or the client's lock: every request the window
makes goes through here and none of them waits for the client's MPI lock (the client queues it for
its progress thread), so the Qt event loop never blocks on MPI.

Work for the Client target (code typed for rank 0, scripts) goes to a `core.console` client-side
worker, started on first use; its commands come back as those of `CLIENT_RANK`, and requests about
them (interrupt, cancel, restart) go to it rather than to the servers.
"""
from __future__ import annotations

import collections
import threading
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from core import events
from core.console.host import ConsoleHost
from core.environment import MPIEnvironment
from core.events import CLIENT_RANK
from core.frontends.feed import OUTPUT_INTERVAL, server_output_limit
from core.frontends.output import BoundedOutput
from core.replay import Replay

OUTPUT_INTERVAL_MS = round(OUTPUT_INTERVAL * 1000)


class ClientBridge(QObject):
    """Qt face of a started `MPICommandClient`; create it on the GUI thread.

    `launch_mode`, `isolation`, `ranks`, `session_log_path` and the MPI versions are fixed at start.
    """

    commandQueued = Signal(object)      # core.events.CommandQueued
    commandStarted = Signal(int, int)   # command id, server
    commandFinished = Signal(object)    # the response dict itself (Signal(dict) would copy it, and
                                        # a copy would keep a result the client lets go of)
    serverStatus = Signal(int, dict)    # rank, get_server_status() entry
    serverOutput = Signal(int, list, int)  # rank, items (OutputItem/LogItem), lines dropped
    namespaceChanged = Signal(int, object)  # rank, [NameSummary, ...] (core.events.NamespaceChanged)
    resultsDropped = Signal(list, str)  # command ids, reason (core.events.ResultsDropped)
    _futureDone = Signal(object, object)  # callback, future: see `when_done`

    def __init__(self, client, parent: QObject | None = None):
        super().__init__(parent)
        self._client = client
        self.launch_mode: str = client.launch_mode
        self.isolation: str = client.isolation
        self.ranks: list[int] = client.server_ranks()
        self.session_log_path = client.session_log_path
        self.mpi_library, self.mpi4py_version = MPIEnvironment.mpi_library, MPIEnvironment.mpi4py_version
        limit = server_output_limit(len(self.ranks))
        self._pending: dict[int, BoundedOutput] = collections.defaultdict(lambda: BoundedOutput(limit))
        self._lock = threading.Lock()
        self._timer = QTimer(self)
        self._timer.setInterval(OUTPUT_INTERVAL_MS)
        self._timer.timeout.connect(lambda: self._hand_over_output())
        self._timer.start()
        self._futureDone.connect(lambda callback, future: callback(future), Qt.ConnectionType.QueuedConnection)
        self._unsubscribe = client.subscribe(self._on_event)
        self._console: ConsoleHost | None = None

    def close(self) -> None:
        self._unsubscribe()
        self._timer.stop()
        if self._console is not None:
            self._console.close()  # the worker is killed: this takes milliseconds
            self._console = None

    def _client_worker(self) -> ConsoleHost:
        if self._console is None:
            self._console = ConsoleHost(self._client)
        return self._console

    # ----- core thread --------------------------------------------------------------------
    def _on_event(self, event: events.Event) -> None:
        if isinstance(event, events.ServerOutput):
            with self._lock:
                self._pending[event.server].add(event.items)
        elif isinstance(event, events.CommandFinished):
            self._hand_over_output(event.response["server"])  # what it printed comes first
            self.commandFinished.emit(event.response)
        elif isinstance(event, events.CommandStarted):
            self.commandStarted.emit(event.id, event.server)
        elif isinstance(event, events.ServerStatusChanged):
            self.serverStatus.emit(event.server, event.status)
        elif isinstance(event, events.CommandQueued):
            self.commandQueued.emit(event)
        elif isinstance(event, events.NamespaceChanged):
            self.namespaceChanged.emit(event.server, event.names)
        elif isinstance(event, events.ResultsDropped):
            self.resultsDropped.emit(event.ids, event.reason)

    # ----- either thread: the GUI's timer, or the core's thread before a response --------
    def _hand_over_output(self, only: int | None = None) -> None:
        with self._lock:
            ready = [(rank, pending.take()) for rank, pending in self._pending.items()
                     if pending.items and only in (None, rank)]
            for rank, (items, dropped) in ready:
                self.serverOutput.emit(rank, items, dropped)

    # ----- GUI thread ---------------------------------------------------------------------
    def submit(self, command: str, target: list[int] | None, parameters: dict[str, Any] | None):
        """Send `command` to the listed servers, to the first available one (None), or to the
        client-side worker (`[CLIENT_RANK]`).

        Never blocks; raises the core's ValueError/TypeError for a target or value it refuses.
        """
        if target == [CLIENT_RANK]:
            return [self._client_worker().run(command, parameters or None, origin="typed")]
        futures = self._client.submit(command, target=target, parameters=parameters or None, origin="typed")
        return futures if isinstance(futures, list) else [futures]

    def run_script(self, path, args: list[str]):
        """Run a script in the client-side worker, as `python path args` would; its future."""
        command = f"run_script({str(path)!r}, {[str(a) for a in args]!r})"
        return self._client_worker().run(command, origin="typed")

    def server_statuses(self) -> dict[int, dict[str, Any]]:
        """Each server's last reported status; later changes come as `serverStatus`."""
        return self._client.last_server_status()

    def _split(self, command_ids: list[int]) -> tuple[list[int], list[int]]:
        """The ids of the client-side worker's commands, and the others."""
        console = self._console
        local = [i for i in command_ids if console is not None and console.owns(i)]
        return local, [i for i in command_ids if i not in local]

    def interrupt(self, command_ids: list[int]) -> None:
        local, others = self._split(command_ids)
        if local:
            self._console.interrupt()
        if others:
            self._client.interrupt(others)

    def interrupt_server(self, rank: int) -> None:
        if rank != CLIENT_RANK:
            self._client.interrupt(server=rank)
        elif self._console is not None:
            self._console.interrupt()

    def cancel(self, command_ids: list[int]) -> None:
        local, others = self._split(command_ids)
        if local:
            self._console.cancel(local)
        if others:
            self._client.cancel(others)

    def restart_server(self, rank: int) -> None:
        if rank != CLIENT_RANK:
            self._client.restart_server(rank)
        elif self._console is not None:
            self._console.restart()

    def when_done(self, future, callback) -> None:
        """Call `callback(future)` on the GUI thread once `future` is done (it resolves on the
        client's thread)."""
        future.add_done_callback(lambda done: self._futureDone.emit(callback, done))

    def request_namespaces(self, ranks: list[int]):
        """Ask these servers for a summary of their namespace (it comes as `namespaceChanged`);
        a future of `{rank: names or None}`. Never blocks."""
        return self._client.request_namespace_summaries(ranks)

    def pull(self, name: str, rank: int):
        """A future of `{rank: value}` of variable `name` on server `rank` (`MPICommandClient.pull`);
        it fails with `DataMoveError` naming both. Never blocks."""
        return self._client.pull(name, targets=rank, block=False)

    def purge_results(self, command_ids: list[int] | None = None) -> int:
        """Let go of these results' values now (all for None); the bytes freed."""
        return self._client.purge_results(command_ids)

    @property
    def result_memory(self) -> int | None:
        """The client's result budget in bytes (None: no limit); settable."""
        return self._client.result_memory

    @result_memory.setter
    def result_memory(self, limit: int | None) -> None:
        self._client.result_memory = limit

    def result_memory_used(self) -> int:
        return self._client.result_memory_used

    def unfinished_commands(self) -> int:
        return sum(not record.done for record in self._client.commands)

    def save_session(self, path, **options):
        """Write the session as a script (`MPICommandClient.save_session`); its path."""
        return self._client.save_session(path, **options)

    def replay(self, pushes) -> Replay:
        """A replay of recorded pushes on this session's servers (`core.replay.Replay`)."""
        console = self._client_worker() if any(push.on_client for push in pushes) else None
        return Replay(self._client, pushes, console)

    def stop_services(self) -> None:
        """Stop the servers, interrupting what runs. Blocks: call it off the GUI thread."""
        if self._console is not None:
            self._console.close()
            self._console = None
        self._client.stop_services(force_command_request_interruption=True)
