"""The session's recent numbered events, so that a frontend whose link dropped can resume.

A frontend that comes back after event N gets the events after N from here when N is still
covered, else a fresh snapshot; either way it ends up with the session's exact history. The
journal is bounded twice: by the number of events, and by the characters of output they hold
(a flood would otherwise fill it with output alone).
"""
from __future__ import annotations

import collections
import itertools

from core.events import ServerOutput
from core.frontends.frontend import Numbered
from core.frontends.model import SessionEvent
from core.frontends.output import text_of

JOURNAL_EVENTS = 100_000
"""Events kept at most: a day of load samples, or a few minutes of a busy session."""
JOURNAL_OUTPUT_CHARS = 16_000_000
"""Characters of output kept at most in the events kept."""


def output_chars(event: SessionEvent) -> int:
    return sum(len(text_of(item)) for item in event.items) if isinstance(event, ServerOutput) else 0


class Journal:
    """Numbered events in order, without gaps, the oldest let go first."""

    def __init__(self, max_events: int = JOURNAL_EVENTS, max_output_chars: int = JOURNAL_OUTPUT_CHARS):
        self.max_events = max_events
        self.max_output_chars = max_output_chars
        self._entries: collections.deque[tuple[int, SessionEvent, int]] = collections.deque()
        self.output_chars = 0
        self.last_seq = 0

    def add(self, seq: int, event: SessionEvent) -> None:
        chars = output_chars(event)
        self._entries.append((seq, event, chars))
        self.output_chars += chars
        self.last_seq = seq
        while len(self._entries) > self.max_events or self.output_chars > self.max_output_chars:
            self.output_chars -= self._entries.popleft()[2]

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
