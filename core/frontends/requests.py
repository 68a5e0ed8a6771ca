"""What a frontend may ask of a session, by name, and how each kind of answer comes back.

Both ends of a link need these names (`core.frontends.remote` sends them, the session's
`core.frontends.host` answers them through its table `SessionHost.requests`), and a frontend in
another process must not load the host's machinery to know them: they live here, alone.
"""
from __future__ import annotations

import enum
from concurrent.futures import Future
from typing import Any


class Answer(enum.Enum):
    """How a request's answer comes."""

    VALUE = "value"
    """The handler returns the answer."""
    FUTURE = "future"
    """The handler returns a Future of the answer."""
    COMMANDS = "commands"
    """The handler returns the futures of the commands it queued: a frontend in this process
    gets them; a link answers with their ids and the frontend's feed brings their responses."""


class Request(str, enum.Enum):
    """What a frontend may ask of a session (see `core.frontends.frontend.SessionFrontend`)."""

    SUBMIT = "submit"
    RUN_SCRIPT = "run_script"
    INTERRUPT = "interrupt"
    INTERRUPT_SERVER = "interrupt_server"
    CANCEL = "cancel"
    RESTART_SERVER = "restart_server"
    REQUEST_NAMESPACES = "request_namespaces"
    PULL = "pull"
    PURGE_RESULTS = "purge_results"
    SET_RESULT_MEMORY = "set_result_memory"
    SESSION_SCRIPT = "session_script"
    RESPONSE = "response"
    STOP_SESSION = "stop_session"


class FutureRequests:
    """The requests of `core.frontends.frontend.SessionFrontend` that answer with a future,
    written once: a frontend says how it asks (`_ask`), in its process or over a link."""

    def _ask(self, request: Request, *args: Any) -> Future:
        raise NotImplementedError

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
