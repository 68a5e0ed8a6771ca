"""`LocalFrontend`: a frontend in the session's own process, such as the window of `mpipanel`.

Its requests are calls on the host's request table (`SessionHost.requests`), its events come
through a feed on the host's thread, and nothing is pickled: the snapshot and the events share
the client's response dicts (whose results the client lets go of in place, as it did for the
window before).
"""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from core.frontends.frontend import Numbered
from core.frontends.host import SessionHost, Subscription
from core.frontends.requests import Answer, Request
from core.frontends.model import SessionEnded, SessionSnapshot


class LocalFrontend:
    """A `core.frontends.frontend.SessionFrontend` on a `SessionHost` of this process."""

    def __init__(self, host: SessionHost, label: str = "typed"):
        self.host = host
        self.info = host.info
        self.label = label
        self._subscription: Subscription | None = None

    def open(self, on_snapshot: Callable[[SessionSnapshot], None], on_events: Callable[[Numbered], None],
             on_link: Callable[[str], None] | None = None) -> None:
        def events(batch: Numbered) -> None:
            on_events(batch)
            ended = [event for _, event in batch if isinstance(event, SessionEnded)]
            if ended and on_link is not None:
                on_link(f"ended: {ended[-1].reason}")

        self._subscription = self.host.open_feed(on_snapshot, events)
        if on_link is not None:
            on_link("up")

    def _ask(self, request: Request, *args, **kwargs) -> Any:
        """The answer as the protocol gives it: a Future, or the commands' futures."""
        handling = self.host.requests[request]
        if handling.answer is not Answer.VALUE:
            return handling.call(self.label, *args, **kwargs)
        future: Future = Future()
        try:
            future.set_result(handling.call(self.label, *args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - the caller gets it from the future
            future.set_exception(exc)
        return future

    def submit(self, command: str, target: list[int] | None, parameters: dict[str, Any] | None = None,
               origin: str | None = None, shown: str | None = None) -> list[Future]:
        return self._ask(Request.SUBMIT, command, target, parameters, origin, shown)

    def run_script(self, path: str, args: list[str]) -> Future:
        return self._ask(Request.RUN_SCRIPT, path, args)[0]

    def interrupt(self, command_ids: list[int]) -> None:
        self.host.call(Request.INTERRUPT, self.label, command_ids)

    def interrupt_server(self, rank: int) -> None:
        self.host.call(Request.INTERRUPT_SERVER, self.label, rank)

    def cancel(self, command_ids: list[int]) -> None:
        self.host.call(Request.CANCEL, self.label, command_ids)

    def restart_server(self, rank: int) -> Future:
        return self._ask(Request.RESTART_SERVER, rank)

    def request_namespaces(self, ranks: list[int]) -> Future:
        return self._ask(Request.REQUEST_NAMESPACES, ranks)

    def pull(self, name: str, rank: int) -> Future:
        return self._ask(Request.PULL, name, rank)

    def purge_results(self, command_ids: list[int] | None = None) -> Future:
        return self._ask(Request.PURGE_RESULTS, command_ids)

    def set_result_memory(self, limit: int | None) -> Future:
        return self._ask(Request.SET_RESULT_MEMORY, limit)

    def session_script(self, only_successful: bool = False, include_interrupted_cancelled: bool = True,
                       name: str = "session.py") -> Future:
        return self._ask(Request.SESSION_SCRIPT, only_successful, include_interrupted_cancelled, name)

    def response(self, command_id: int) -> Future:
        return self._ask(Request.RESPONSE, command_id)

    def stop_session(self) -> Future:
        return self._ask(Request.STOP_SESSION)

    def detach(self) -> None:
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None
