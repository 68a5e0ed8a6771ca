"""Server output printed on the client's terminal when no GUI shows it: `[server N] line`."""
from __future__ import annotations

import logging
import sys

from core.events import Event, ServerOutput
from core.wire.messages import LogItem


class ConsolePrinter:
    """An event subscriber that prints each server's output and log records, prefixed."""

    def __init__(self) -> None:
        self._partial: dict[tuple[int, str], str] = {}

    def __call__(self, event: Event) -> None:
        if not isinstance(event, ServerOutput):
            return
        for item in event.items:
            prefix = f"[server {event.server}] "
            if isinstance(item, LogItem):
                level = logging.getLevelName(item.level)
                self._write(sys.stderr, prefix, f"{level} {item.logger}: {item.message}\n")
                continue
            stream = sys.stdout if item.stream == "stdout" else sys.stderr
            key = (event.server, item.stream)
            text = self._partial.pop(key, "") + item.text
            complete, _, rest = text.rpartition("\n")
            if rest:
                self._partial[key] = rest
            if complete:
                self._write(stream, prefix, complete + "\n")

    @staticmethod
    def _write(stream, prefix: str, text: str) -> None:
        stream.write("".join(prefix + line for line in text.splitlines(keepends=True)))
        stream.flush()

    def flush(self) -> None:
        """Print what is left of unfinished lines (at stop)."""
        for (server, name), rest in self._partial.items():
            self._write(sys.stdout if name == "stdout" else sys.stderr, f"[server {server}] ", rest + "\n")
        self._partial.clear()
