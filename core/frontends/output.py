"""A server's output held for someone who reads it later: its newest characters, whole lines.

Output can come as a flood (four servers printing 50k lines a second), so nothing that holds it
may grow with it: the session keeps each server's recent output for frontends that attach later
(`core.frontends.model`), and each frontend's feed keeps what waits for its next hand-over
(`core.frontends.feed`). Both keep the newest `limit` characters and count the lines they let go.
"""
from __future__ import annotations

import collections

from core.wire.messages import LogItem, OutputItem


def text_of(item: OutputItem | LogItem) -> str:
    return item.text if isinstance(item, OutputItem) else item.message


class BoundedOutput:
    """Output items, oldest first, at most `limit` characters of them; `dropped` counts the lines
    that went to make room. An item cut at the front keeps the whole lines of its tail."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: collections.deque[OutputItem | LogItem] = collections.deque()
        self.chars = 0
        self.dropped = 0

    def add(self, items: list[OutputItem | LogItem]) -> None:
        for item in items:
            self.items.append(item)
            self.chars += len(text_of(item))
        while self.chars > self.limit:
            old = self.items.popleft()
            text = text_of(old)
            excess = self.chars - self.limit
            if isinstance(old, OutputItem) and len(text) > excess:
                cut = text.find("\n", excess) + 1 or len(text)
                self.items.appendleft(old._replace(text=text[cut:]))
                text = text[:cut]
            self.chars -= len(text)
            self.dropped += text.count("\n") or 1

    def take(self) -> tuple[list[OutputItem | LogItem], int]:
        """Everything held and the lines dropped since the last take; empties it."""
        items, dropped = list(self.items), self.dropped
        self.items.clear()
        self.chars = self.dropped = 0
        return items, dropped

    def copy(self) -> BoundedOutput:
        other = BoundedOutput(self.limit)
        other.items = collections.deque(self.items)
        other.chars, other.dropped = self.chars, self.dropped
        return other
