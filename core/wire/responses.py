"""What every command yields, defined once: the response dict, its statuses, and how a failure reads.

A response is made in four places: the worker (or the rank, with isolation 'none') after running a
command, the server rank for a command that never ran (cancelled, interrupted before it started,
its worker died), and the client for one that never reached a server (cancelled, lost, timed out)
or whose result cannot be rebuilt. They all build it here, so its keys and statuses cannot drift.
"""
from __future__ import annotations

import enum
import re
import time
from typing import Any, TypedDict

from core.wire import blobs


class Status(str, enum.Enum):
    """A command's state. Members are strings (`Status.DONE == 'done'`) and print as such, so a
    response dict reads, logs and serialises as plain text."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    TIMEOUT = "timeout"
    """Its server missed its heartbeats (or its worker stopped answering): provisional while the
    server may come back, whose real response then replaces it (`core.events.CommandFinished`)."""
    EXPIRED = "expired"
    """It ran past its own time limit (`push_command_request(..., timeout=...)`) and was stopped."""
    CANCELLED = "cancelled"
    LOST = "lost"

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return repr(self.value)

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


class CommandResponse(TypedDict):
    """What every command yields (the mpi4casa keys `successful`, `traceback`, `ret` and more)."""

    id: int
    command: str
    shown: str | None
    """The text to show for the command, as its sender gave it; None: the command itself."""
    parameters: dict[str, Any] | None
    """As sent, but for large values (arrays), which are `ReleasedValue`s here."""
    mode: str | None
    """'eval' (an expression: `ret` is its value) or 'exec' (statements: `ret` is the value of
    the last statement when it is an expression, as in IPython, else None)."""
    server: int | None
    status: Status
    """done, failed, interrupted, timeout, expired, cancelled or lost."""
    successful: bool
    traceback: str | None
    ret: Any
    time_start: float
    time_end: float
    namespace_reset: bool
    """True when the server's namespace was lost since its previous command (or just now)."""
    ret_size: int
    """Bytes the result took on the wire (0 for None): what it counts against `result_memory`."""
    ret_dropped: dict[str, Any] | None
    """None while `ret` holds the result; once the value was let go (`result_memory`,
    `purge_results`): `{'reason': 'budget' or 'purged', 'time', 'summary'}` with the value's
    `core.sessions.literals.summary` (type, shape, dtype, size, a short repr)."""
    time_limit: float | None
    """The command's time limit in seconds, None for none."""
    stack: str | None
    """For an 'expired' command: the text of its stack when its time limit was reached (every
    thread's, innermost call last, `core.stacks.format_threads`); else None."""
    worker_died: bool
    """The worker process running it died under it (a crash, a kill, `os._exit`, a broken frame;
    not a restart asked for, nor a time limit): what `retries` retries."""
    attempts: list[dict[str, Any]]
    """The earlier attempts of a command pushed with `retries`, each `{'attempt', 'server',
    'reason', 'time_start', 'time_end'}` (this response is the last attempt); [] for none."""


NOT_STARTED = {Status.CANCELLED: "Cancelled before it started.\n",
               Status.INTERRUPTED: "KeyboardInterrupt: interrupted before it started\n"}
"""The traceback of a command cancelled or interrupted before it started, by its status."""


class ReleasedValue:
    """Stands in a command's `parameters` for a large value (an array) that the client let go of
    once the command was pickled for sending: the sender has the value, and a client that kept
    every array it ever sent would grow without bound. `summary` is the value's
    `core.sessions.literals.summary` without a digest (type, shape, dtype, size, a short repr)."""

    __slots__ = ("summary",)

    def __init__(self, summary: dict[str, Any]):
        self.summary = summary

    def __repr__(self) -> str:
        facts = "".join(f" {name}={self.summary[name]}" for name in ("shape", "dtype", "size")
                        if name in self.summary)
        return f"<{self.summary['type']}{facts}: sent, not kept>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ReleasedValue) and other.summary == self.summary

    __hash__ = None


class UnsentValue:
    """Stands as `ret` for the value of statements' trailing expression when it cannot be
    pickled (a module, an open file): those statements ran and the value was not asked for as an
    expression's would be, so the command stays successful and the client gets its repr."""

    __slots__ = ("type", "text", "reason")

    REPR_LIMIT = 2000

    def __init__(self, type_name: str, text: str, reason: str):
        self.type = type_name
        self.text = text
        self.reason = reason

    @classmethod
    def of(cls, value: Any, exc: BaseException) -> UnsentValue:
        try:
            text = repr(value)
        except Exception as problem:  # noqa: BLE001 - a broken __repr__ must not fail the command
            text = f"<repr failed: {problem!r}>"
        if len(text) > cls.REPR_LIMIT:
            text = text[:cls.REPR_LIMIT] + "…"
        return cls(f"{type(value).__module__}.{type(value).__qualname__}", text, blobs.describe_unpicklable(value, exc))

    def __repr__(self) -> str:
        """The value's own repr, as IPython would show it."""
        return self.text

    def __reduce__(self):
        return UnsentValue, (self.type, self.text, self.reason)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UnsentValue) and (other.type, other.text) == (self.type, self.text)

    __hash__ = None


_DONE = Status.DONE.value
_STATUSES = {status.value: status for status in Status}
"""Each `Status` by its value: a lookup here costs a tenth of `Status(value)` (≈ 0.45 µs warm)."""


def success(mode: str, time_start: float) -> dict[str, Any]:
    """The outcome fields of a command that ran to its end; `ret` travels as buffers. Its status
    is the plain string, which the client makes a `Status` again (`rebuild_result`): on every command's
    way an enum member costs ≈ 2 µs to pickle and as much to unpickle, in each of four places."""
    return {"mode": mode, "successful": True, "traceback": None, "status": _DONE,
            "time_start": time_start, "time_end": time.time()}


def failure(status: Status, traceback: str, mode: str | None = None,
            time_start: float | None = None) -> dict[str, Any]:
    """The outcome fields of a command that failed, or never ran (then it started and ended now)."""
    now = time.time()
    return {"mode": mode, "successful": False, "traceback": traceback, "status": status,
            "time_start": now if time_start is None else time_start, "time_end": now}


def rebuild_result(fields: dict[str, Any], buffers: list) -> dict[str, Any]:
    """Set `fields['ret']` from a worker's result buffers; a result that cannot be unpickled here
    (its class exists only where it ran) turns the response into a failure saying so. The status
    is a `Status` again, however it travelled (`success`)."""
    fields["status"] = _STATUSES[fields["status"]]
    fields["ret"] = None
    if buffers:
        try:
            fields["ret"] = blobs.unpack(buffers)
        except Exception as exc:  # noqa: BLE001 - whatever unpickling the user's value raises
            fields.update(failure(Status.FAILED, f"The command ran, but its result cannot be rebuilt "
                                                 f"on the client: {type(exc).__name__}: {exc}\n",
                                  fields["mode"], fields["time_start"]))
    return fields


_FRAME = re.compile(r'^  File "', re.MULTILINE)


def last_frame(traceback: str) -> tuple[str, int]:
    """A failed command's traceback cut to its last frame and the exception, what a user reads
    first (the window's traceback view, a notebook's `%px` error): `(text, frames hidden)`."""
    starts = [match.start() for match in _FRAME.finditer(traceback)]
    if len(starts) <= 1:
        return traceback, 0
    header = traceback[:starts[0]]
    return header + traceback[starts[-1]:], len(starts) - 1
