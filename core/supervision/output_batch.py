"""A server's outgoing output: stdout/stderr text, log records and progress, batched for the wire.

A command printing a million lines must not cost a million MPI messages, nor must a quiet one wait
to be seen: the batch is sent when it holds `MAX_CHARS` characters or its oldest item is `MAX_AGE`
old, and always before the response of the command that produced it. A command's progress rides
along: only its latest report in a batch is kept.
"""
from __future__ import annotations

import codecs
import time

from core.wire.messages import LogItem, OutputItem, ProgressItem

MAX_CHARS = 32 * 1024
"""Characters of text and log messages (not bytes: what decoding gave, the measure `size` keeps)."""
MAX_AGE = 0.02


class OutputBatch:
    def __init__(self) -> None:
        self.items: list[OutputItem | LogItem | ProgressItem] = []
        self.size = 0
        self.oldest = 0.0
        self._decoders = {name: codecs.getincrementaldecoder("utf-8")("replace")
                          for name in ("stdout", "stderr")}

    def add_output(self, command_id: int | None, stream: str, data: bytes) -> None:
        """Add raw bytes read from a stream; a character split across reads is kept whole."""
        text = self._decoders[stream].decode(data)
        if not text:
            return
        last = self.items[-1] if self.items else None
        if isinstance(last, OutputItem) and last.stream == stream and last.command_id == command_id:
            self.items[-1] = last._replace(text=last.text + text)
        else:
            self._append(OutputItem(command_id, stream, text))
            return
        self.size += len(text)

    def add_log(self, item: LogItem) -> None:
        self._append(item)
        self.size += len(item.message)

    def add_progress(self, item: ProgressItem) -> None:
        """Keep `item` in place of an earlier report of the same command in this batch."""
        for index, old in enumerate(self.items):
            if isinstance(old, ProgressItem) and old.command_id == item.command_id:
                self.items[index] = item
                return
        self._append(item)

    def _append(self, item) -> None:
        if not self.items:
            self.oldest = time.monotonic()
        self.items.append(item)
        if isinstance(item, OutputItem):
            self.size += len(item.text)

    def due_in(self, now: float) -> float | None:
        """Seconds until this batch must go (0: now); None when it is empty."""
        if not self.items:
            return None
        if self.size >= MAX_CHARS:
            return 0.0
        return max(0.0, self.oldest + MAX_AGE - now)

    def due(self, now: float) -> bool:
        """True when this batch must go now."""
        return self.due_in(now) == 0.0

    def take(self) -> list:
        items, self.items, self.size = self.items, [], 0
        return items
