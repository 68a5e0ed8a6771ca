"""What a frontend can do with a session, the same whether the session runs in this process
(`core.frontends.local`) or behind a link (`core.frontends.remote`).

A frontend opens its feed and gets a snapshot, then the numbered events after it, in order, on a
thread of the feed's (the window re-emits them as queued Qt signals); the callbacks must be quick,
as other frontends' hand-overs wait for them. Every request returns a `concurrent.futures.Future`
and never waits on MPI, so a GUI thread may make any of them.

The numbers rise, but for a server's output, which a feed coalesces (`core.frontends.feed`): a
replica applies each event with its number (`SessionModel.apply(event, seq)`), and resumes after
the highest it saw.
"""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Protocol

from core.frontends.model import SessionEvent, SessionInfo, SessionSnapshot

Numbered = list[tuple[int, SessionEvent]]


class SessionFrontend(Protocol):
    info: SessionInfo
    label: str
    """The origin its commands are recorded with when they give none: 'typed' for the session's own
    window, 'attached:HOST:PID' for a window or program attached, 'notebook' for a notebook."""

    def open(self, on_snapshot: Callable[[SessionSnapshot], None], on_events: Callable[[Numbered], None],
             on_link: Callable[[str], None] | None = None) -> None:
        """Start the feed: `on_snapshot` first (again after a reconnect that could not resume),
        then `on_events` with each batch of numbered events, in order. `on_link` hears 'up',
        'down: REASON' (retrying) and 'ended: REASON' (the session is gone) for a remote link."""

    def submit(self, command: str, target: int | list[int] | None, parameters: dict[str, Any] | None = None,
               origin: str | None = None, shown: str | None = None, *, timeout: float | None = None,
               retries: int = 0) -> list[Future]:
        """Futures of the responses, one per target (None: the first available server; a rank,
        or a list of ranks, recorded as given, as a push's `target_server`; `CLIENT_RANK` or
        `[CLIENT_RANK]`: rank 0's client-side worker). `timeout` and `retries` as for
        `MPICommandClient.push_command_request`. Raises the core's ValueError/TypeError for a
        command, target or value it refuses; over a link the refusal comes as the futures'
        exception instead."""

    def run_script(self, path: str, args: list[str]) -> Future: ...

    def interrupt(self, command_ids: list[int]) -> None: ...

    def interrupt_server(self, rank: int) -> None: ...

    def cancel(self, command_ids: list[int]) -> None: ...

    def restart_server(self, rank: int) -> Future: ...

    def request_namespaces(self, ranks: list[int]) -> Future: ...

    def pull(self, name: str, rank: int) -> Future: ...

    def purge_results(self, command_ids: list[int] | None = None) -> Future: ...

    def set_result_memory(self, limit: int | None) -> Future: ...

    def session_script(self, only_successful: bool = False, include_interrupted_cancelled: bool = True,
                       name: str = "session.py") -> Future:
        """The session as a replayable script's text (the frontend saves it where its user says;
        `name` is that file's name, which the script's docstring mentions)."""

    def response(self, command_id: int) -> Future:
        """The full response of a command, result included."""

    def stop_session(self) -> Future:
        """Stop the servers (interrupting what runs); done once they have stopped."""

    def detach(self) -> None:
        """Leave the session running; this frontend's feed ends."""
