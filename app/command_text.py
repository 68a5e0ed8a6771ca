"""A command as the window shows it: the text its sender gave for it, else the command itself."""
from __future__ import annotations


def shown_text(command: str, shown: str | None = None) -> str:
    """What the window shows for `command`: `shown`, the text its sender gave for it (a command's
    `shown` field: casampi's layer gives a request as its own sender wrote it), else `command`."""
    return command if shown is None else shown


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


def headline(text: str, width: int | None = None) -> str:
    """The first line of `text`, cut to `width` characters with an ellipsis."""
    line = first_line(text)
    return line if width is None or len(line) <= width else line[:width - 1] + "…"
