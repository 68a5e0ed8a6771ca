"""The session as every frontend sees it: one Qt-free model fed by the client's events, numbered.

A session (`core.frontends.host`) applies each event of its client to a `SessionModel` and gives it
the next sequence number. A frontend (the window, a program attached with `core.attach`, a
notebook) starts from a `SessionSnapshot` of that model and applies the numbered events that
follow to a replica of its own (`SessionModel.from_snapshot`). Both ends run the same `apply`,
so they cannot disagree about what an event means, and a frontend whose link dropped asks for
the events after the last number it saw.

What the model keeps is bounded as the window's panes are: each server's recent output
(`OUTPUT_CHARS` at most, fewer per server when there are many), five minutes of load samples,
the latest namespace summary of each server; the history keeps every command, whose results the
client lets go of beyond its `result_memory` (`ResultsDropped` says which). The busy/idle state
of a server is derived here, once, from the commands seen starting and finishing: a heartbeat
may be older than the last `CommandStarted`.

No locks and no threads: the session applies events on one thread and copies a snapshot under
its own lock; a frontend's replica belongs to the thread that feeds it (the GUI thread).
"""
from __future__ import annotations

import collections
import dataclasses
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from core.events import (CommandFinished, CommandQueued, CommandStarted, Event, NamespaceChanged,
                         ResultsDropped, ServerOutput, ServerStatusChanged)
from core.server_state import ServerState
from core.frontends.output import BoundedOutput

OUTPUT_CHARS = 1_000_000
"""Characters of recent output kept per server (about 20,000 lines, what a pane keeps)..."""
TOTAL_OUTPUT_CHARS = 64_000_000
"""...but no more than this for all servers together: 128 servers keep 500 kB each."""
LOAD_SAMPLES = 300
"""Load samples kept: five minutes at one a second (the load chart's span)."""


@dataclass(frozen=True)
class SessionInfo:
    """What a session is, fixed when it starts: what `--sessions` lists and About shows."""

    session_id: str
    host: str
    pid: int
    started: float
    """`time.time()` when it started."""
    version: str
    """mpipanel's version."""
    launch_mode: str
    isolation: str
    servers: tuple[int, ...]
    kind: str
    """'window' (an mpipanel window's session), 'serve' (`python -m core --serve`) or 'listen'
    (a program's session, `python -m core --listen`)."""
    program: str | None = None
    """The script of a 'listen' session."""
    session_log_path: str | None = None
    mpi_library: str | None = None


class LoadFigures(NamedTuple):
    cpu_percent: float
    rss: int
    queue_length: int
    activity: int
    """0 idle, 1 busy, 2 not serving (timeout, lost)."""


@dataclass(frozen=True)
class LoadSampled:
    """Every server's load at one moment; the session takes one a second (`core.frontends.host`)."""

    time: float
    figures: dict[int, LoadFigures]


@dataclass(frozen=True)
class ResultMemoryChanged:
    """The bytes of results the client keeps, and its limit (None: no limit)."""

    used: int
    limit: int | None


@dataclass(frozen=True)
class SessionEnded:
    """The session's servers have stopped; `reason` says why ('stopped by ...', 'the program ended')."""

    reason: str


SessionEvent = Event | LoadSampled | ResultMemoryChanged | SessionEnded


@dataclass(slots=True)
class HistoryEntry:
    """One command of the session: what was sent where, by whom, and how it ended."""

    id: int
    command: str
    parameters: dict[str, Any] | None
    target: int | None
    """The server asked for; None for the first available one."""
    push: int
    push_target: int | list[int] | None
    block: bool
    origin: str | None
    time_queued: float
    shown: str | None = None
    """The text to show for it, when its sender gave one (see `core.events.CommandQueued`)."""
    server: int | None = None
    status: str = "queued"
    time_started: float | None = None
    response: dict[str, Any] | None = None

    @property
    def text(self) -> str:
        """The command as its sender wrote it."""
        return self.shown or self.command


@dataclass
class SessionSnapshot:
    """A copy of a model at `seq`: what a frontend starts from."""

    seq: int
    info: SessionInfo
    servers: dict[int, ServerState]
    running: dict[int, int | None]
    history: list[HistoryEntry]
    output: dict[int, BoundedOutput]
    load: list[LoadSampled]
    namespaces: dict[int, NamespaceChanged]
    result_memory: ResultMemoryChanged | None
    ended: SessionEnded | None = None


@dataclass
class SessionModel:
    info: SessionInfo
    seq: int = 0
    """The number of the last event applied."""
    servers: dict[int, ServerState] = field(default_factory=dict)
    """Each server's state as last reported, with busy/idle as the commands say."""
    running: dict[int, int | None] = field(default_factory=dict)
    """The command running on each server (rank 0's client-side worker included), if any."""
    history: dict[int, HistoryEntry] = field(default_factory=dict)
    """Every command, oldest first."""
    output: dict[int, BoundedOutput] = field(default_factory=dict)
    load: collections.deque[LoadSampled] = field(default_factory=lambda: collections.deque(maxlen=LOAD_SAMPLES))
    namespaces: dict[int, NamespaceChanged] = field(default_factory=dict)
    result_memory: ResultMemoryChanged | None = None
    ended: SessionEnded | None = None

    def __post_init__(self) -> None:
        self._apply = {
            CommandQueued: self._on_queued,
            CommandStarted: self._on_started,
            CommandFinished: self._on_finished,
            ServerOutput: self._on_output,
            ServerStatusChanged: self._on_status,
            ResultsDropped: self._on_results_dropped,
            NamespaceChanged: self._on_namespace,
            LoadSampled: self.load.append,
            ResultMemoryChanged: self._on_result_memory,
            SessionEnded: self._on_ended,
        }

    # ----- feeding ------------------------------------------------------------------------
    def apply(self, event: SessionEvent, seq: int | None = None) -> int:
        """Apply one event; its sequence number: the next one, or `seq` as a replica's feed gave it
        (a feed coalesces a server's output into fewer events, so its numbers skip some). An event
        of a kind the model does not know is an error: both ends of a link run the same code
        (versions are checked on attach)."""
        handler = self._apply.get(type(event))
        if handler is None:
            raise TypeError(f"the session model has no rule for a {type(event).__name__} event")
        handler(event)
        self.seq = self.seq + 1 if seq is None else max(self.seq, seq)
        return self.seq

    def _on_queued(self, event: CommandQueued) -> None:
        self.history[event.id] = HistoryEntry(
            id=event.id, command=event.command, parameters=event.parameters, target=event.target,
            push=event.push, push_target=event.push_target, block=event.block, origin=event.origin,
            time_queued=event.time, shown=event.shown)

    def _on_started(self, event: CommandStarted) -> None:
        entry = self.history.get(event.id)
        if entry is not None:
            entry.server, entry.status, entry.time_started = event.server, "running", event.time
        self.running[event.server] = event.id
        self._derive_state(event.server)

    def _on_finished(self, event: CommandFinished) -> None:
        response = event.response
        entry = self.history.get(response["id"])
        if entry is not None:
            entry.server, entry.status, entry.response = response["server"], str(response["status"]), response
        server = response["server"]
        if server is not None and self.running.get(server) == response["id"]:
            self.running[server] = None
            self._derive_state(server)

    def _on_output(self, event: ServerOutput) -> None:
        backlog = self.output.get(event.server)
        if backlog is None:
            backlog = self.output[event.server] = BoundedOutput(self.output_limit())
        backlog.add(event.items)
        backlog.dropped += event.dropped

    def _on_status(self, event: ServerStatusChanged) -> None:
        self.servers[event.server] = event.status
        self._derive_state(event.server)

    def _on_results_dropped(self, event: ResultsDropped) -> None:
        for command_id, dropped in event.summaries.items():
            entry = self.history.get(command_id)
            if entry is not None and entry.response is not None:
                # A replica's copy (which may say its result stayed behind a link); the session's
                # own was changed in place already, to this very summary.
                entry.response["ret"] = None
                entry.response["ret_dropped"] = dropped

    def _on_namespace(self, event: NamespaceChanged) -> None:
        self.namespaces[event.server] = event

    def _on_result_memory(self, event: ResultMemoryChanged) -> None:
        self.result_memory = event

    def _on_ended(self, event: SessionEnded) -> None:
        self.ended = event

    def _derive_state(self, rank: int) -> None:
        """Busy or idle from the commands seen, for a server that serves (not timeout, lost...)."""
        status = self.servers.get(rank)
        if status is None or status["state"] not in ("idle", "busy"):
            return
        running = self.running.get(rank)
        state = "busy" if running is not None else "idle"
        if status["state"] != state or status["busy"] != (running is not None):
            self.servers[rank] = {**status, "state": state, "busy": running is not None,
                                  "command_id": running if running is not None else status["command_id"]}

    def output_limit(self) -> int:
        """Characters of output kept per server: `OUTPUT_CHARS`, shared out when there are many."""
        return min(OUTPUT_CHARS, TOTAL_OUTPUT_CHARS // max(1, len(self.info.servers)))

    # ----- reading ------------------------------------------------------------------------
    def state_of(self, rank: int) -> str:
        status = self.servers.get(rank)
        return status["state"] if status is not None else "starting"

    def snapshot(self) -> SessionSnapshot:
        """A copy that shares nothing that changes with this model but the response dicts (whose
        results the client lets go of in place), the immutable events, and the history entries of
        finished commands, which no later event changes (a snapshot of 10,000 commands is taken
        under the session's lock: copying each entry took 50-180 ms of it)."""
        return SessionSnapshot(
            seq=self.seq, info=self.info, servers=dict(self.servers), running=dict(self.running),
            history=[entry if entry.response is not None else dataclasses.replace(entry)
                     for entry in self.history.values()],
            output={rank: backlog.copy() for rank, backlog in self.output.items()},
            load=list(self.load), namespaces=dict(self.namespaces), result_memory=self.result_memory,
            ended=self.ended)

    @classmethod
    def from_snapshot(cls, snapshot: SessionSnapshot) -> SessionModel:
        model = cls(info=snapshot.info, seq=snapshot.seq, servers=dict(snapshot.servers),
                    running=dict(snapshot.running), history={entry.id: entry for entry in snapshot.history},
                    output=dict(snapshot.output), namespaces=dict(snapshot.namespaces),
                    result_memory=snapshot.result_memory, ended=snapshot.ended)
        model.load.extend(snapshot.load)
        return model
