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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.events import CommandFinished, CommandQueued
from core.frontends.frontend import Numbered
from core.frontends.model import HistoryEntry, SessionSnapshot
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
PLAIN = frozenset({type(None), bool, int, float, complex, str, bytes, ReleasedValue})
"""Values every frontend can rebuild travel as they are: of these very types (a subclass, such as
numpy's float64, may need a module the frontend lacks)..."""
PLAIN_CONTAINERS = frozenset({list, tuple, set, frozenset})
PLAIN_ITEMS = 1000
"""...and lists, tuples, sets and dicts of at most this many plain items (checked, one level)."""


def is_plain(value: Any) -> bool:
    kind = type(value)
    if kind in PLAIN:
        return True
    if kind in PLAIN_CONTAINERS:
        return len(value) <= PLAIN_ITEMS and all(type(item) in PLAIN for item in value)
    if kind is dict:
        return len(value) <= PLAIN_ITEMS and all(type(k) in PLAIN and type(v) in PLAIN for k, v in value.items())
    return False


def _plain(parameters: dict[str, Any] | None) -> bool:
    return parameters is None or all(is_plain(value) for value in parameters.values())


def seal_parameters(parameters: dict[str, Any] | None) -> dict[str, Any] | None:
    """The parameters for the link: themselves when every value is plain (most are), else a copy."""
    if _plain(parameters):
        return parameters
    return {name: value if is_plain(value) else SealedValue.of(value) for name, value in parameters.items()}


def open_parameters(parameters: dict[str, Any] | None) -> dict[str, Any] | None:
    if parameters is None or not any(isinstance(value, SealedValue) for value in parameters.values()):
        return parameters
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
    """The response for the link: `ret` sealed, or summarised when larger than `limit` (None: no
    limit), in a copy; the response itself when its result and parameters are plain."""
    ret = response["ret"]
    too_large = limit is not None and response.get("ret_size", 0) > limit
    if is_plain(ret) and not too_large and _plain(response.get("parameters")):
        return response
    sealed = {**response, "parameters": seal_parameters(response.get("parameters"))}
    if too_large:
        sealed["ret"] = None
        sealed["ret_dropped"] = {"reason": "link", "time": time.time(), "summary": literals.summary(ret, digest=False)}
    elif ret is not None:
        sealed["ret"] = SealedValue.of(ret)
    return sealed


def open_response(sealed: dict[str, Any]) -> dict[str, Any]:
    ret, parameters = sealed["ret"], sealed.get("parameters")
    if not isinstance(ret, SealedValue) and parameters is open_parameters(parameters):
        return sealed
    response = {**sealed, "parameters": open_parameters(parameters)}
    if isinstance(ret, SealedValue):
        try:
            response["ret"] = ret.open()
        except Exception as exc:  # noqa: BLE001 - whatever unpickling the user's value raises
            response["ret"] = None
            response["ret_dropped"] = {"reason": "unrebuilt", "time": time.time(),
                                       "summary": {"type": ret.type, "repr": f"cannot be rebuilt here ({_error(exc)})"}}
    return response


# ----- events and snapshots -----------------------------------------------------------------
@dataclass(frozen=True)
class Way:
    """One direction over the link: sealing (on the session's side) or opening (the frontend's)."""

    parameters: Callable[[dict[str, Any] | None], dict[str, Any] | None]
    response: Callable[[dict[str, Any]], dict[str, Any]]


SEALING = Way(seal_parameters, seal_response)
OPENING = Way(open_parameters, open_response)


def _queued(event: CommandQueued, way: Way) -> CommandQueued:
    parameters = way.parameters(event.parameters)
    return event if parameters is event.parameters else dataclasses.replace(event, parameters=parameters)


def _finished(event: CommandFinished, way: Way) -> CommandFinished:
    response = way.response(event.response)
    return event if response is event.response else CommandFinished(response)


CARRIERS = {CommandQueued: _queued, CommandFinished: _finished}
"""The events that carry the user's values, and how; every other event travels as it is."""


def _events(batch: Numbered, way: Way) -> Numbered:
    return [(seq, CARRIERS[type(event)](event, way) if type(event) in CARRIERS else event) for seq, event in batch]


def _entry(entry: HistoryEntry, way: Way) -> HistoryEntry:
    parameters = way.parameters(entry.parameters)
    response = way.response(entry.response) if entry.response is not None else None
    if parameters is entry.parameters and response is entry.response:
        return entry
    return dataclasses.replace(entry, parameters=parameters, response=response)


def seal_events(batch: Numbered) -> Numbered:
    return _events(batch, SEALING)


def open_events(batch: Numbered) -> Numbered:
    return _events(batch, OPENING)


def seal_snapshot(snapshot: SessionSnapshot) -> SessionSnapshot:
    return dataclasses.replace(snapshot, history=[_entry(entry, SEALING) for entry in snapshot.history])


def open_snapshot(snapshot: SessionSnapshot) -> SessionSnapshot:
    return dataclasses.replace(snapshot, history=[_entry(entry, OPENING) for entry in snapshot.history])
