"""What a frontend may ask of a session, by name, and how each kind of answer comes back.

Both ends of a link need these names (`core.frontends.remote` sends them, the session's
`core.frontends.host` answers them through its table `SessionHost.requests`), and a frontend in
another process must not load the host's machinery to know them: they live here, alone.
"""
from __future__ import annotations

import enum


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
