"""What the client tells its subscribers (the GUI bridge, the console printer, a session log).

Events are delivered in the order they happened, one at a time, outside the client's MPI lock,
on whichever thread made progress (usually the client's progress thread). A subscriber must be
quick and must not block on the client; the GUI bridge just re-emits them as queued Qt signals.
"""
from __future__ import annotations

import collections
import logging
import threading
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable

from core.wire.messages import LogItem, NameSummary, OutputItem

_log = logging.getLogger(__name__)

CLIENT_RANK = 0
"""The "server" of a command that ran on rank 0 itself, in the client-side worker (`core.console`):
such a command is recorded like a push to a server, so that histories, session logs and saved
scripts keep it in order with the commands it pushed."""


@dataclass(frozen=True, kw_only=True)
class CommandQueued:
    id: int
    command: str
    parameters: dict[str, Any] | None
    target: int | None
    """The server asked for, None for the first available one."""
    block: bool
    time: float
    push: int
    """The id of the first command of the same push: one push to [1, 2] queues two commands."""
    push_target: int | list[int] | None
    """`target_server` as the push gave it."""
    origin: str | None = None
    """Who sent it: 'typed' (the window), 'client' (code running in the client-side worker),
    'script:LINE' (that line of a script run there), 'replay', 'notebook' (a `%px` cell,
    `core.jupyter`), 'attached:HOST:PID' (a window or program attached to the session,
    `core.frontends`); None for a program's own push."""
    shown: str | None = None
    """The text to show for the command, as its sender gave it (casampi's layer shows a request
    as its own sender wrote it, not as the wrapper that travels); None: the command itself."""
    time_limit: float | None = None
    """Seconds it may run before it is stopped (status 'expired'); None: no limit."""
    retries: int = 0
    """How often it is sent again if the worker running it dies (`CommandRetried`)."""


@dataclass(frozen=True)
class CommandStarted:
    id: int
    server: int
    time: float


@dataclass(frozen=True)
class CommandFinished:
    """A command's final response. Its `ret` may be dropped later to keep the client within its
    result memory (`ResultsDropped` says when); the response dict is then changed in place.

    A `provisional` one says 'timeout': the command's server missed its heartbeats (or its worker
    stopped answering) while it ran, and may come back. If it does, the command's real response
    replaces it in the same dict (so its futures and `get_command_response` give the real one) and
    a second `CommandFinished`, not provisional, says so."""

    response: dict[str, Any]
    provisional: bool = False


@dataclass(frozen=True)
class CommandProgress:
    """How far a running command is, as its code said with `progress(done, total, text)`; at most
    about five a second per command, and the last one before its response."""

    id: int
    server: int
    done: float
    total: float
    text: str
    time: float


@dataclass(frozen=True)
class CommandRetried:
    """The worker running a command pushed with `retries` died under it: the command is sent again
    (to the same server if it was targeted, else to the first available one), under the same id.
    `attempt` is the number of the attempt that starts now (2 for the first retry)."""

    id: int
    attempt: int
    reason: str
    """Why the previous attempt failed (how its worker died)."""
    server: int
    """Where the previous attempt ran."""
    time: float


@dataclass(frozen=True)
class ResultsDropped:
    """The values of these commands' results were let go (their responses' `ret` is None now and
    `ret_dropped` says what it was): to stay within `result_memory`, or by `purge_results`."""

    ids: list[int]
    reason: str
    """'budget' or 'purged'."""
    summaries: dict[int, dict[str, Any]] = field(default_factory=dict)
    """Each command's new `ret_dropped` (what its result was): a frontend's copy of the response
    needs it, the client's own was changed in place."""


@dataclass(frozen=True)
class NamespaceChanged:
    """A new summary of one server's namespace (see `MPICommandClient.watch_namespaces`).

    After a server starts or loses its namespace, `names` is empty and `command_id` None."""

    server: int
    names: list[NameSummary]
    command_id: int | None
    """The command after which it was taken; None for a summary asked for on its own."""
    time: float


@dataclass(frozen=True)
class ServerOutput:
    """A batch of one server's stdout/stderr text and log records, in the order produced."""

    server: int
    items: list[OutputItem | LogItem]
    dropped: int = 0
    """Lines let go before `items` to bound memory: a frontend's feed coalesces a server's output
    and keeps its newest part (`core.frontends.feed`); the client's own events let go of none."""


@dataclass(frozen=True)
class ServerStatusChanged:
    """A heartbeat or a change of state; `status` is that server's `get_server_status()` entry."""

    server: int
    status: dict[str, Any]


Event = (CommandQueued | CommandStarted | CommandFinished | CommandProgress | CommandRetried | ServerOutput
         | ServerStatusChanged | ResultsDropped | NamespaceChanged)
Subscriber = Callable[[Event], None]


def notify(subscribers: list[Subscriber], event: Event) -> None:
    """Give `event` to each subscriber in turn; one that raises is logged, and the rest still get it."""
    for subscriber in subscribers:
        try:
            subscriber(event)
        except Exception:  # noqa: BLE001 - one bad subscriber must not stop the rest
            _log.exception("event subscriber %r failed", subscriber)


class EventHub:
    """Queues events as they happen and delivers them in order to every subscriber."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._queue: collections.deque[Callable[[], None] | Event] = collections.deque()
        self._delivering = threading.Lock()
        self._deliverer: int | None = None
        """The thread delivering now (`threading.get_ident`), so that a subscriber's own call of
        `deliver` returns at once."""

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Start delivering events to `subscriber`; returns a function that stops it."""
        self._subscribers = [*self._subscribers, subscriber]

        def unsubscribe() -> None:
            self._subscribers = [s for s in self._subscribers if s is not subscriber]

        return unsubscribe

    def post(self, event: Event) -> None:
        self._queue.append(event)

    def post_made(self, make: Callable[[], Event]) -> None:
        """Queue the event that `make()` returns, made when it is delivered: outside the sender's
        lock and after what the sender sends next (a command's `CommandQueued`, 12 frozen fields,
        ≈ 2.5 µs warm, is made after the command went to its server, not on its round trip)."""
        self._queue.append(lambda: notify(self._subscribers, make()))

    def post_call(self, call: Callable[[], None]) -> None:
        """Queue a callable (resolving a future) so that it runs in order with the events."""
        self._queue.append(call)

    def deliver(self) -> None:
        """Deliver everything queued so far; a call from inside a subscriber returns at once."""
        if not self._queue or self._deliverer == threading.get_ident():
            return
        with self._delivering:
            self._deliverer = threading.get_ident()
            try:
                while self._queue:
                    item = self._queue.popleft()
                    if callable(item):
                        item()
                        continue
                    notify(self._subscribers, item)
            finally:
                self._deliverer = None
