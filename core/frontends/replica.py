"""A frontend's copy of the session model, built from its feed, that threads can wait on.

A frontend gets a snapshot and then numbered events on its feed's thread; the model they make is
read on other threads (a program's `AttachedClient` waiting for a response, a test waiting for a
history). `Replica` applies them under a condition and wakes whoever waits for the model to reach
some state. (The window keeps its replica on the GUI thread instead, fed by queued signals.)
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from core.frontends.frontend import Numbered
from core.frontends.model import SessionModel, SessionSnapshot

T = TypeVar("T")


class Replica:
    def __init__(self) -> None:
        self.model: SessionModel | None = None
        self.snapshots = 0
        """How many snapshots it was built from (more than one after a link that could not resume)."""
        self._changed = threading.Condition()

    def on_snapshot(self, snapshot: SessionSnapshot) -> None:
        with self._changed:
            self.model = SessionModel.from_snapshot(snapshot)
            self.snapshots += 1
            self._changed.notify_all()

    def on_events(self, batch: Numbered) -> None:
        with self._changed:
            for seq, event in batch:
                self.model.apply(event, seq)
            self._changed.notify_all()

    @property
    def seq(self) -> int | None:
        """The number of the last event applied (None before the first snapshot)."""
        model = self.model
        return model.seq if model is not None else None

    def read(self, look: Callable[[SessionModel], T]) -> T:
        """`look(model)`, with no event applied meanwhile."""
        with self._changed:
            return look(self.model)

    def wait_for(self, predicate: Callable[[SessionModel], T], timeout: float | None = None) -> T:
        """Wait until `predicate(model)` is true; its value (false on timeout)."""
        with self._changed:
            return self._changed.wait_for(lambda: self.model is not None and predicate(self.model), timeout)
