"""What a pane's stream is made of: output items cut into whole lines, and the one line each
finished command leaves (the live panes, and a session's backlog, `app.backlog`, make them alike)."""
from __future__ import annotations

from typing import Any

from core.casa.log_lines import parse_line
from core.wire.messages import LogItem

from .command_text import headline, shown_text
from .output_view import Line, log_kind
from .result_view import NOT_HERE, summary


def result_line(response: dict[str, Any]) -> Line:
    """The one line a finished command leaves in the stream."""
    took = (response.get("time_end") or 0) - (response.get("time_start") or 0)
    command = headline(shown_text(response["command"], response.get("shown")), 60)
    head = f"── #{response['id']} {response['status']} in {took * 1e3:.1f} ms: {command}"
    if response["successful"]:
        dropped = response.get("ret_dropped")
        if dropped:
            where = NOT_HERE.get(dropped["reason"], "freed")
            return Line("done", f"{head} → {dropped['summary']['type']} ({where})")
        return Line("done", f"{head} → {summary(response['ret'])}" if response["mode"] == "eval" else head)
    reason = (response.get("traceback") or "").strip().splitlines()
    return Line("failed", f"{head} ✘ {reason[-1] if reason else response['status']}")


def _kind(stream: str, text: str) -> str:
    """The stream, but for casalog's WARN and SEVERE lines on stderr: their level, as the records
    of its other lines have (`core.casa.log_lines`)."""
    casalog = parse_line(text) if stream == "stderr" else None
    return stream if casalog is None else log_kind(casalog[0])


class LineSplitter:
    """Turns output items into whole lines, keeping each stream's unfinished line for later."""

    def __init__(self, prefix_servers: bool):
        self.prefix_servers = prefix_servers
        self.partial: dict[tuple[int, str], str] = {}

    def feed(self, server: int, items: list) -> list[Line]:
        prefix = f"[{server}] " if self.prefix_servers else ""
        lines = []
        for item in items:
            if isinstance(item, LogItem):
                kind = log_kind(item.level)
                lines += [Line(kind, f"{prefix}{kind} {item.logger}: {text}")
                          for text in item.message.splitlines() or [""]]
                continue
            key = (server, item.stream)
            *whole, rest = (self.partial.pop(key, "") + item.text).split("\n")
            lines += [Line(_kind(item.stream, text), prefix + text) for text in whole]
            if rest:
                self.partial[key] = rest
        return lines

    def flush(self, server: int) -> list[Line]:
        prefix = f"[{server}] " if self.prefix_servers else ""
        return [Line(stream, prefix + self.partial.pop((rank, stream)))
                for rank, stream in list(self.partial) if rank == server]
