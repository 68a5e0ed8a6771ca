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
from core.frontends.host import Asker, SessionHost, Subscription
from core.frontends.requests import Answer, FutureRequests, Request
from core.frontends.model import SessionEnded, SessionSnapshot


class LocalFrontend(FutureRequests):
    """A `core.frontends.frontend.SessionFrontend` on a `SessionHost` of this process."""

    def __init__(self, host: SessionHost, label: str = "typed"):
        self.host = host
        self.info = host.info
        self.label = label
        self._asker = Asker(label)
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
            return handling.call(self._asker, *args, **kwargs)
        future: Future = Future()
        try:
            future.set_result(handling.call(self._asker, *args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - the caller gets it from the future
            future.set_exception(exc)
        return future

    def submit(self, command: str, target: int | list[int] | None, parameters: dict[str, Any] | None = None,
               origin: str | None = None, shown: str | None = None, *, timeout: float | None = None,
               retries: int = 0) -> list[Future]:
        return self._ask(Request.SUBMIT, command, target, parameters, origin, shown, timeout, retries)

    def run_script(self, path: str, args: list[str]) -> Future:
        return self._ask(Request.RUN_SCRIPT, path, args)[0]

    def interrupt(self, command_ids: list[int]) -> None:
        self.host.call(Request.INTERRUPT, self._asker, command_ids)

    def interrupt_server(self, rank: int) -> None:
        self.host.call(Request.INTERRUPT_SERVER, self._asker, rank)

    def cancel(self, command_ids: list[int]) -> None:
        self.host.call(Request.CANCEL, self._asker, command_ids)

    def detach(self) -> None:
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None
