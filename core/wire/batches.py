"""Several commands to one server, or several responses from it, in one MPI envelope.

Every envelope costs a pickling, an MPI send and a doorbell byte, and wakes its receiver if that
sleeps. Under a backlog several commands for one server are ready in the same step of the client,
and several responses in the same step of a server, so one envelope carries them all: its payload
is a list of `(item, buffer count)` and its buffers are the items' buffers end to end. An envelope
stays small, so that its blocking send stays eager (see `core.wire.transport`): a batch is closed
at `MAX_ITEMS` items or `MAX_TEXT` characters of command text.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

MAX_ITEMS = 32
MAX_TEXT = 8 * 1024


class Batch:
    """Items waiting to go to one peer in one envelope (`full` says when to send it before more)."""

    __slots__ = ("items", "buffers", "text")

    def __init__(self) -> None:
        self.items: list[tuple[Any, int]] = []
        self.buffers: list = []
        self.text = 0

    def add(self, item: Any, buffers, text: int = 0) -> None:
        """Add `item` with its buffers; `text`: the characters it carries (a command's length)."""
        self.items.append((item, len(buffers)))
        self.buffers.extend(buffers)
        self.text += text

    @property
    def full(self) -> bool:
        return len(self.items) >= MAX_ITEMS or self.text >= MAX_TEXT


def unbatch(items: list[tuple[Any, int]], buffers: list) -> Iterator[tuple[Any, list]]:
    """The `(item, its buffers)` of an envelope that carries a batch, in order."""
    start = 0
    for item, count in items:
        yield item, buffers[start:start + count]
        start += count
