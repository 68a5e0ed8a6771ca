"""The session's recent numbered events, so that a frontend whose link dropped can resume.

A frontend that comes back after event N gets the events after N from here when N is still
covered, else a fresh snapshot; either way it ends up with the session's exact history. The
journal is bounded twice: by the number of events, and by what they weigh, about the bytes they
hold (a flood of output, or a day of load samples of 128 servers, would fill it otherwise).
"""
from __future__ import annotations

import collections
import itertools

from core.events import CommandQueued, ServerOutput
from core.frontends.frontend import Numbered
from core.frontends.model import LoadSampled, SessionEvent
from core.frontends.output import text_of

JOURNAL_EVENTS = 100_000
"""Events kept at most: a few minutes of a busy session."""
JOURNAL_WEIGHT = 16_000_000
"""What the events kept weigh at most (`weight`), about 16 MB."""
EVENT_WEIGHT = 200
WEIGHTS = {
    ServerOutput: lambda event: sum(len(text_of(item)) for item in event.items),
    LoadSampled: lambda event: 100 * len(event.figures),
    CommandQueued: lambda event: EVENT_WEIGHT + len(event.command) + len(event.shown or ""),
}
"""About the bytes an event holds, by kind; any other kind weighs `EVENT_WEIGHT`."""


def weight(event: SessionEvent) -> int:
    measure = WEIGHTS.get(type(event))
    return measure(event) if measure is not None else EVENT_WEIGHT


class Journal:
    """Numbered events in order, without gaps, the oldest let go first."""

    def __init__(self, max_events: int = JOURNAL_EVENTS, max_weight: int = JOURNAL_WEIGHT):
        self.max_events = max_events
        self.max_weight = max_weight
        self._entries: collections.deque[tuple[int, SessionEvent, int]] = collections.deque()
        self.weight = 0
        self.last_seq = 0

    def add(self, seq: int, event: SessionEvent) -> None:
        held = weight(event)
        self._entries.append((seq, event, held))
        self.weight += held
        self.last_seq = seq
        while len(self._entries) > self.max_events or self.weight > self.max_weight:
            self.weight -= self._entries.popleft()[2]

    def __len__(self) -> int:
        return len(self._entries)

    def after(self, seq: int) -> Numbered | None:
        """The events numbered after `seq`, or None when the journal no longer covers them all
        (or never had `seq`: a number from another session)."""
        if seq == self.last_seq:
            return []
        first = self._entries[0][0] if self._entries else self.last_seq + 1
        if not first - 1 <= seq < self.last_seq:
            return None
        return [(number, event) for number, event, _ in itertools.islice(self._entries, seq - first + 1, None)]
