"""A command as the window shows it: as its sender wrote it (`core.casampi.requests`), on one line."""
from __future__ import annotations

from typing import Any

from core.casampi.requests import shown_command


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def headline(command: str, parameters: dict[str, Any] | None = None, width: int | None = None) -> str:
    """The first line of the command as shown, cut to `width` characters with an ellipsis."""
    line = first_line(shown_command(command, parameters))
    return line if width is None or len(line) <= width else line[:width - 1] + "…"
