"""A command as the window shows it: as its sender wrote it (`core.casampi.requests`), on one line."""
from __future__ import annotations

from typing import Any

from core.casampi.requests import shown_command


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def marked_first_line(text: str) -> str:
    """The first line, and how many more follow (`⏎ +2 lines`): a command from someone else must
    not hide code below a harmless first line."""
    lines = text.strip().splitlines()
    more = len(lines) - 1
    if more <= 0:
        return first_line(text)
    return f"{lines[0]}  ⏎ +{more} line{'s' if more > 1 else ''}"


def headline(command: str, parameters: dict[str, Any] | None = None, width: int | None = None) -> str:
    """The first line of the command as shown, cut to `width` characters with an ellipsis."""
    line = first_line(shown_command(command, parameters))
    return line if width is None or len(line) <= width else line[:width - 1] + "…"
