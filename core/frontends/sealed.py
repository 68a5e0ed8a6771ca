"""The user's values in what a session sends a frontend over a link, pickled each on its own.

A frame of events is unpickled whole on the frontend. A result or a parameter of a class the
frontend cannot import (a CASA tool's record, a class of the session's script) would then take
the whole frame, and the link, with it. So the session seals each such value (`SealedValue`),
the frontend opens each on its own, and one that cannot be rebuilt there shows as such: a
result as `ret_dropped` with reason 'unrebuilt', a parameter as an `Unrebuilt` that says why.

Results larger than `LINK_RESULT_LIMIT` are not sent with the events at all: the response says
`ret_dropped` with reason 'link' and the value's summary, and a frontend that wants the value
asks for it (`response(id)`, which `AttachedClient` does by itself).
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

from core.events import CommandFinished, CommandQueued
from core.frontends.frontend import Numbered
from core.frontends.model import HistoryEntry, SessionEvent, SessionSnapshot
from core.sessions import literals
from core.wire.blobs import Packed
from core.wire.responses import ReleasedValue

LINK_RESULT_LIMIT = 1_000_000
"""Bytes of a result (its `ret_size`) sent with the events at most."""


@dataclass(frozen=True)
class SealedValue:
    packed: Packed
    type: str
    """The value's type, to say what could not be rebuilt."""

    @classmethod
    def of(cls, value: Any) -> SealedValue:
        return cls(Packed(value), f"{type(value).__module__}.{type(value).__qualname__}".removeprefix("builtins."))

    def open(self) -> Any:
        return self.packed.unpack()


class Unrebuilt:
    """Stands for a parameter value whose class this process cannot import."""

    __slots__ = ("type", "error")

    def __init__(self, type_name: str, error: str):
        self.type, self.error = type_name, error

    def __repr__(self) -> str:
        return f"<{self.type}: cannot be rebuilt here ({self.error})>"


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


# ----- parameters ---------------------------------------------------------------------------
PLAIN = (type(None), bool, int, float, complex, str, bytes, ReleasedValue)
"""Values every frontend can rebuild: they travel as they are."""


def seal_parameters(parameters: dict[str, Any] | None) -> dict[str, Any] | None:
    if parameters is None:
        return None
    return {name: value if isinstance(value, PLAIN) else SealedValue.of(value) for name, value in parameters.items()}


def open_parameters(parameters: dict[str, Any] | None) -> dict[str, Any] | None:
    if parameters is None:
        return None
    return {name: _open_parameter(value) for name, value in parameters.items()}


def _open_parameter(value: Any) -> Any:
    if not isinstance(value, SealedValue):
        return value
    try:
        return value.open()
    except Exception as exc:  # noqa: BLE001 - whatever unpickling the user's value raises
        return Unrebuilt(value.type, _error(exc))


# ----- responses ----------------------------------------------------------------------------
def seal_response(response: dict[str, Any], limit: int | None = LINK_RESULT_LIMIT) -> dict[str, Any]:
    """A copy for the link: `ret` sealed, or summarised when larger than `limit` (None: no limit)."""
    sealed = {**response, "parameters": seal_parameters(response.get("parameters"))}
    ret = response["ret"]
    if ret is None:
        return sealed
    if limit is not None and response.get("ret_size", 0) > limit:
        sealed["ret"] = None
        sealed["ret_dropped"] = {"reason": "link", "time": time.time(), "summary": literals.summary(ret, digest=False)}
    else:
        sealed["ret"] = SealedValue.of(ret)
    return sealed


def open_response(sealed: dict[str, Any]) -> dict[str, Any]:
    response = {**sealed, "parameters": open_parameters(sealed.get("parameters"))}
    ret = sealed["ret"]
    if isinstance(ret, SealedValue):
        try:
            response["ret"] = ret.open()
        except Exception as exc:  # noqa: BLE001 - whatever unpickling the user's value raises
            response["ret"] = None
            response["ret_dropped"] = {"reason": "unrebuilt", "time": time.time(),
                                       "summary": {"type": ret.type, "repr": f"cannot be rebuilt here ({_error(exc)})"}}
    return response


# ----- events and snapshots -----------------------------------------------------------------
def _seal_queued(event: CommandQueued) -> CommandQueued:
    return dataclasses.replace(event, parameters=seal_parameters(event.parameters))


def _open_queued(event: CommandQueued) -> CommandQueued:
    return dataclasses.replace(event, parameters=open_parameters(event.parameters))


SEAL = {CommandQueued: _seal_queued, CommandFinished: lambda event: CommandFinished(seal_response(event.response))}
OPEN = {CommandQueued: _open_queued, CommandFinished: lambda event: CommandFinished(open_response(event.response))}
"""What carries the user's values, by event kind; every other event travels as it is."""


def seal_events(batch: Numbered) -> Numbered:
    return [(seq, SEAL[type(event)](event) if type(event) in SEAL else event) for seq, event in batch]


def open_events(batch: Numbered) -> Numbered:
    return [(seq, OPEN[type(event)](event) if type(event) in OPEN else event) for seq, event in batch]


def open_event(event: SessionEvent) -> SessionEvent:
    return OPEN[type(event)](event) if type(event) in OPEN else event


def _seal_entry(entry: HistoryEntry) -> HistoryEntry:
    return dataclasses.replace(entry, parameters=seal_parameters(entry.parameters),
                               response=seal_response(entry.response) if entry.response is not None else None)


def _open_entry(entry: HistoryEntry) -> HistoryEntry:
    return dataclasses.replace(entry, parameters=open_parameters(entry.parameters),
                               response=open_response(entry.response) if entry.response is not None else None)


def seal_snapshot(snapshot: SessionSnapshot) -> SessionSnapshot:
    return dataclasses.replace(snapshot, history=[_seal_entry(entry) for entry in snapshot.history])


def open_snapshot(snapshot: SessionSnapshot) -> SessionSnapshot:
    return dataclasses.replace(snapshot, history=[_open_entry(entry) for entry in snapshot.history])
