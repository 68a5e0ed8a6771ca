"""Bounded client memory: results are let go, oldest first, beyond the client's `result_memory`;
large parameters as soon as they are pickled for sending (`kept_parameters`).

Every response stays in the client's history, and a session that returns large results would
otherwise keep all of them. The budget counts each kept result by its size on the wire
(`ret_size`: for arrays, their data; for other values, their pickle, which underestimates a
large list or dict of small objects). When a new result takes the total past the limit, the
oldest results' values are dropped: the response dict, shared by the history, the futures and
the events, is changed in place: `ret` becomes None and `ret_dropped` says what it was. The
newest result is never dropped on arrival, so a single result larger than the budget still
reaches its caller; it goes when the next one arrives. The session log is not affected: it
wrote the result's literal or summary when the command finished.

It is an event subscriber: a result is counted when its `CommandFinished` is delivered, which is
after every earlier subscriber saw earlier results whole and after their futures resolved.
"""
from __future__ import annotations

import collections
import threading
import time
from collections.abc import Iterable
from typing import Any

from core.events import CommandFinished, Event, EventHub, ResultsDropped
from core.sessions import literals
from core.wire import blobs
from core.wire.responses import ReleasedValue

DEFAULT_RESULT_MEMORY = 256 * 1024 * 1024


RELEASE_MIN = blobs.OUT_OF_BAND_MIN
"""Parameter values with the buffer protocol (arrays) of at least this many bytes are not kept."""


def kept_parameters(parameters: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the client keeps of a command's parameters once they are pickled: a copy of its own
    (the caller's dict stays the caller's), in which each large array is a `ReleasedValue`. The
    history, the session log and the responses show the array's summary; the array itself is
    the sender's alone once the command has gone."""
    if parameters is None:
        return None
    return {name: ReleasedValue(literals.summary(value, digest=False)) if _large_buffer(value) else value
            for name, value in parameters.items()}


def _large_buffer(value: Any) -> bool:
    try:
        return memoryview(value).nbytes >= RELEASE_MIN
    except TypeError:
        return False


class ResultBudget:
    def __init__(self, limit: int | None, hub: EventHub):
        """`limit`: bytes of results kept at most (beyond the newest one); None keeps them all."""
        self.limit = limit
        self._hub = hub
        self._kept: collections.OrderedDict[int, dict[str, Any]] = collections.OrderedDict()
        self.kept_bytes = 0
        self._lock = threading.Lock()
        """`purge` runs on the caller's thread, counting on the thread that delivers events."""

    def __call__(self, event: Event) -> None:
        if not isinstance(event, CommandFinished):
            return
        response = event.response
        if response["ret"] is None or not response.get("ret_size"):
            return
        with self._lock:
            self._kept[response["id"]] = response
            self.kept_bytes += response["ret_size"]
            dropped = self._drop_over_limit()
        if dropped:
            self._post(dropped, "budget")

    def set_limit(self, limit: int | None) -> None:
        """A new limit; a lower one lets go of the oldest results now, as an arrival would."""
        with self._lock:
            self.limit = limit
            dropped = self._drop_over_limit()
        if dropped:
            self._post(dropped, "budget")

    def _drop_over_limit(self) -> dict[int, dict[str, Any]]:
        dropped = {}
        while self.limit is not None and self.kept_bytes > self.limit and len(self._kept) > 1:
            oldest = next(iter(self._kept))
            dropped[oldest] = self._drop(oldest, "budget")
        return dropped

    def purge(self, ids: Iterable[int] | None = None) -> int:
        """Drop the values of these results (all kept ones for None); returns the bytes let go."""
        with self._lock:
            before = self.kept_bytes
            chosen = list(self._kept) if ids is None else [i for i in ids if i in self._kept]
            dropped = {command_id: self._drop(command_id, "purged") for command_id in chosen}
            freed = before - self.kept_bytes
        if dropped:
            self._post(dropped, "purged")
        return freed

    def _post(self, dropped: dict[int, dict[str, Any]], reason: str) -> None:
        self._hub.post(ResultsDropped(list(dropped), reason, dropped))

    def _drop(self, command_id: int, reason: str) -> dict[str, Any]:
        """Let go of one result in place; its `ret_dropped`."""
        response = self._kept.pop(command_id)
        self.kept_bytes -= response["ret_size"]
        response["ret_dropped"] = {"reason": reason, "time": time.time(),
                                   "summary": literals.summary(response["ret"], digest=False)}
        response["ret"] = None
        return response["ret_dropped"]
