"""A command as the window shows it: the text its sender gave for it, else the command itself; its
progress and its time limit as words."""
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


def _count(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.3g}"


def progress_text(progress) -> str:
    """A command's progress as the window shows it (`core.events.CommandProgress`): '37/100
    flagging', or '37 flagging' when its code gave no total (0)."""
    count = f"{_count(progress.done)}/{_count(progress.total)}" if progress.total else _count(progress.done)
    return f"{count} {progress.text}".strip()


def limit_text(seconds: float | None) -> str:
    """A command's time limit: '90 s', or '' for none."""
    return "" if seconds is None else f"{seconds:g} s"
