"""The one place where the core meets Qt: a session's feed in, Qt signals out, the window's requests in.

The window renders a session it does not own: the session lives in a `core.frontends.host`
(in this process for the embedded window, behind a link for an attached one) and the window
sees it through a `SessionFrontend`. This bridge opens the frontend's feed, keeps a replica of the
session model on the GUI thread (`SessionModel.from_snapshot`, then each numbered event batch
applied in order) and says what changed with Qt signals. The feed calls back on a thread of its
own; each snapshot and each batch crosses to the GUI thread as one queued signal, so widgets never
see a thread, and the replica is only ever touched on the GUI thread.

Every request goes to the frontend, which answers with a `concurrent.futures.Future` and never
waits on MPI, so the Qt event loop never blocks on MPI; `when_done` brings a future's outcome back
to the GUI thread.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal

from core import events
from core.frontends import connection_files
from core.frontends.connection_files import ConnectionFile
from core.frontends.host import SessionHost
from core.frontends.local import LocalFrontend
from core.frontends.endpoints import SshEndpoint
from core.frontends.model import (LoadSampled, ResultMemoryChanged, SessionEnded, SessionEvent, SessionInfo,
                                  SessionModel, SessionSnapshot)
from core.frontends.remote import RemoteFrontend
from core.replay import Replay
from core.wire.link import LinkError


class AttachError(Exception):
    """A session could not be attached to; the message says why."""


def own_session(client) -> SessionBridge:
    """The session of a started client, for a window in the same process (`mpipanel`'s own):
    a window attached in-process to its own session. `bridge.frontend.host` is the session."""
    return SessionBridge(LocalFrontend(SessionHost(client), label="typed"))


def running_sessions() -> list[ConnectionFile]:
    """This user's sessions on this machine that can be attached to, oldest first."""
    return connection_files.sessions()[0]


def attach(target: str | ConnectionFile | None, remote_python: str | None = None) -> SessionBridge:
    """A bridge on a running session, to open (`open_in_background`): `target` is a session id (or
    its unique start), a connection file or its path, None for the only session running here, or
    `ssh://[user@]host[:port][/SESSION_ID]` for one on another machine (`remote_python`: the far
    side's interpreter, default `$MPIPANEL_REMOTE_PYTHON` or python3). Raises AttachError when the
    target names no session."""
    try:
        return SessionBridge(RemoteFrontend(target, kind="window", remote_python=remote_python))
    except ValueError as exc:
        raise AttachError(str(exc)) from None


def _on_a_thread(name: str, work: Callable[[], Any],
                 failure: Callable[[Exception], Exception] = lambda exc: exc) -> Future:
    """The future of `work()`, run on a thread of its own; the ways a session cannot be reached
    that it raises become `failure(exc)`."""
    done: Future = Future()

    def run() -> None:
        try:
            done.set_result(work())
        except (ValueError, OSError, LinkError) as exc:
            done.set_exception(failure(exc))

    threading.Thread(target=run, name=name, daemon=True).start()
    return done


class _GuiThreadCalls(QObject):
    """Calls `callback(future)` on the GUI thread for a future resolved on another. There is one,
    for the process, not a signal of each bridge: a session's future may resolve after the window
    that asked for it, and its bridge, are gone, and a signal emitted from another thread on a
    QObject being deleted crashed the process (SIGSEGV in the emit, during a window test's teardown)."""

    call = Signal(object, object)


_calls: _GuiThreadCalls | None = None


def _gui_thread_calls() -> _GuiThreadCalls:
    """The one `_GuiThreadCalls`, made on first use on the GUI thread (where it then lives)."""
    global _calls
    if _calls is None:
        _calls = _GuiThreadCalls()
        _calls.call.connect(lambda callback, future: callback(future), Qt.ConnectionType.QueuedConnection)
    return _calls


class SessionBridge(QObject):
    """Qt face of a `SessionFrontend`; create it on the GUI thread, then `open()` it.

    `model` is the replica the widgets read (None until the first snapshot has come). After
    `snapshotLoaded` it is a new model: read everything again. `info` says which session it is:
    a frontend in this process knows it at once, one behind a link from its first snapshot.
    """

    snapshotLoaded = Signal()               # the whole model was replaced (attach, or a reconnect that
                                            # could not resume)
    commandQueued = Signal(object)          # core.frontends.model.HistoryEntry
    commandStarted = Signal(int, int)       # command id, server
    commandProgress = Signal(object)        # core.events.CommandProgress (the model keeps the latest per command)
    commandRetried = Signal(object)         # core.events.CommandRetried (the command is queued again)
    commandFinished = Signal(object)        # the response dict itself (Signal(dict) would copy it, and
                                            # a copy would keep a result the session lets go of)
    serverStatus = Signal(int, dict)        # rank, its ServerState as the model derives it
    serverOutput = Signal(int, list, int)   # rank, items (OutputItem/LogItem), lines dropped before them
    namespaceChanged = Signal(int, object)  # rank, [NameSummary, ...] (core.events.NamespaceChanged)
    resultsDropped = Signal(list, str)      # command ids, reason (core.events.ResultsDropped)
    loadSampled = Signal(object)            # core.frontends.model.LoadSampled
    resultMemory = Signal(object)           # core.frontends.model.ResultMemoryChanged
    linkState = Signal(str)                 # 'up', 'down: REASON', 'ended: REASON' (a remote link)
    sessionEnded = Signal(str)              # why (core.frontends.model.SessionEnded)
    _snapshotArrived = Signal(object)
    _eventsArrived = Signal(object)
    _linkChanged = Signal(str)

    def __init__(self, frontend, parent: QObject | None = None):
        """`frontend`: a `core.frontends.frontend.SessionFrontend`."""
        super().__init__(parent)
        self.frontend = frontend
        self.attached = not isinstance(frontend, LocalFrontend)
        """The session lives in another process: the window reaches it through a link."""
        self.info: SessionInfo | None = frontend.info
        self.model: SessionModel | None = None
        self._opened = False
        self.link = ""
        """The link's last state ('' for a session in this process, which has no link)."""
        queued = Qt.ConnectionType.QueuedConnection
        self._snapshotArrived.connect(self._load_snapshot, queued)
        self._eventsArrived.connect(self._apply_events, queued)
        self._linkChanged.connect(self._on_link, queued)
        self._announce: dict[type, Callable[[Any], None]] = {
            events.CommandQueued: lambda event: self.commandQueued.emit(self.model.history[event.id]),
            events.CommandStarted: self._announce_started,
            events.CommandFinished: self._announce_finished,
            events.CommandProgress: self.commandProgress.emit,
            events.CommandRetried: self._announce_retried,
            events.ServerStatusChanged: lambda event: self._announce_status(event.server),
            events.ServerOutput: lambda event: self.serverOutput.emit(event.server, event.items, event.dropped),
            events.NamespaceChanged: lambda event: self.namespaceChanged.emit(event.server, event.names),
            events.ResultsDropped: lambda event: self.resultsDropped.emit(event.ids, event.reason),
            LoadSampled: self.loadSampled.emit,
            ResultMemoryChanged: self.resultMemory.emit,
            SessionEnded: lambda event: self.sessionEnded.emit(event.reason),
        }

    @property
    def ranks(self) -> list[int]:
        return list(self.info.servers)

    def open(self) -> SessionBridge:
        """Start the feed, once: `snapshotLoaded` follows when the snapshot is in, then the events.
        Raises what the frontend raises when it cannot reach the session."""
        if not self._opened:
            self.frontend.open(self._snapshotArrived.emit, self._eventsArrived.emit, self._linkChanged.emit)
            self._opened = True
        return self

    def open_in_background(self) -> Future:
        """`open()` on a thread of its own, as reaching a session may take seconds (ssh to another
        machine, or ssh giving up on one); the future of the opened bridge, or of an AttachError
        saying why the session cannot be reached (ssh's failure in one message)."""
        return _on_a_thread("mpipanel-attaching", self.open, lambda exc: AttachError(str(exc)))

    @property
    def files_elsewhere(self) -> bool:
        """The session's files (its log) are on another machine: read them through the link."""
        return isinstance(getattr(self.frontend, "endpoint", None), SshEndpoint)

    def read_session_log(self) -> Future:
        """The future of the session log's text, read on the session's machine (ssh, for one elsewhere)."""
        return _on_a_thread("mpipanel-session-log", self.frontend.session_log)

    # ----- GUI thread: the replica --------------------------------------------------------
    def _load_snapshot(self, snapshot: SessionSnapshot) -> None:
        self.model = SessionModel.from_snapshot(snapshot)
        self.info = snapshot.info
        self.snapshotLoaded.emit()

    def _apply_events(self, numbered: list[tuple[int, SessionEvent]]) -> None:
        model = self.model
        for seq, event in numbered:  # a feed's first batch comes after its snapshot
            model.apply(event, seq)
            self._announce[type(event)](event)

    def _announce_started(self, event: events.CommandStarted) -> None:
        self.commandStarted.emit(event.id, event.server)
        self._announce_status(event.server)

    def _announce_finished(self, event: events.CommandFinished) -> None:
        self.commandFinished.emit(event.response)
        if event.response["server"] is not None:
            self._announce_status(event.response["server"])

    def _announce_retried(self, event: events.CommandRetried) -> None:
        self.commandRetried.emit(event)
        self._announce_status(event.server)

    def _announce_status(self, rank: int) -> None:
        status = self.model.servers.get(rank)
        if status is not None:
            self.serverStatus.emit(rank, status)

    def _on_link(self, state: str) -> None:
        self.link = state
        self.linkState.emit(state)

    # ----- GUI thread: reading the replica ------------------------------------------------
    def unfinished_commands(self) -> int:
        """Commands of the session queued or running (the window's and every other frontend's)."""
        if self.model is None:
            return 0
        return sum(entry.status in ("queued", "running") for entry in self.model.history.values())

    # ----- GUI thread: requests -----------------------------------------------------------
    def when_done(self, future: Future, callback: Callable[[Future], None]) -> None:
        """Call `callback(future)` on the GUI thread once `future` is done (it resolves on another)."""
        relay = _gui_thread_calls()
        future.add_done_callback(lambda done: relay.call.emit(callback, done))

    def submit(self, command: str, target: list[int] | None, parameters: dict[str, Any] | None,
               timeout: float | None = None, retries: int = 0) -> list[Future]:
        """Send `command` to the listed servers, to the first available one (None), or to the
        client-side worker (`[CLIENT_RANK]`); the futures of the responses, one per target.
        `timeout`: its time limit in seconds (None: none); `retries`: how often it is sent again
        if the worker running it dies.

        Never blocks; raises the core's ValueError/TypeError for a target or value it refuses.
        """
        return self.frontend.submit(command, target, parameters or None, timeout=timeout, retries=retries)

    def run_script(self, path, args: list[str]) -> Future:
        """Run a script in the client-side worker, as `python path args` would; its future."""
        return self.frontend.run_script(str(path), [str(a) for a in args])

    def interrupt(self, command_ids: list[int]) -> None:
        self.frontend.interrupt(command_ids)

    def interrupt_server(self, rank: int) -> None:
        self.frontend.interrupt_server(rank)

    def cancel(self, command_ids: list[int]) -> None:
        self.frontend.cancel(command_ids)

    def restart_server(self, rank: int) -> Future:
        return self.frontend.restart_server(rank)

    def request_namespaces(self, ranks: list[int]) -> Future:
        """Ask these servers for a summary of their namespace (it comes as `namespaceChanged`)."""
        return self.frontend.request_namespaces(ranks)

    def pull(self, name: str, rank: int) -> Future:
        """A future of `{rank: value}` of variable `name` on server `rank`; it fails with
        `DataMoveError` naming both."""
        return self.frontend.pull(name, rank)

    def purge_results(self, command_ids: list[int] | None = None) -> Future:
        """Let go of these results' values now (all for None); a future of the bytes freed."""
        return self.frontend.purge_results(command_ids)

    def set_result_memory(self, limit: int | None) -> Future:
        """Change the session's result budget (None: no limit); `resultMemory` follows."""
        return self.frontend.set_result_memory(limit)

    def session_script(self, **options) -> Future:
        """A future of the session as a replayable script's text (the window writes the file)."""
        return self.frontend.session_script(**options)

    def response(self, command_id: int) -> Future:
        """A future of a command's whole response, result included (an attached window gets large
        results only when it asks)."""
        return self.frontend.response(command_id)

    def stacks(self, servers: list[int] | None = None) -> Future:
        """A future of `{rank: core.stacks.StackReport}`: where the commands running on these
        servers (None: all, and the client-side worker if it runs) are now, without stopping them."""
        return self.frontend.stacks(servers)

    def replay(self, pushes) -> Replay:
        """A replay of recorded pushes on this session's servers (`core.replay.Replay`)."""
        return Replay(self.frontend, pushes)

    def stop_session(self) -> Future:
        """Stop the session's servers, interrupting what runs; done once they have stopped."""
        return self.frontend.stop_session()

    def detach(self) -> None:
        """Leave the session running; no more signals come."""
        self.frontend.detach()

