"""How a `%px` cell shows in the notebook: values as `Out[2:7]:`, a progress line, failures
compact and raised, and the servers' table of `%mpipanel status`.

Everything here renders through IPython's display machinery, so a value shows as it would in the
kernel itself (an array's repr, a frame's HTML table, a figure's PNG).
"""
from __future__ import annotations

import html
import re
import sys
from typing import Any

from core.wire.responses import CommandResponse, Status, last_frame

_COMMAND_NAME = re.compile(r"<command \d+>")
PROGRESS_DELAY = 1.0
"""Seconds a cell for several servers runs before its progress line shows: quick cells stay clean."""


def register_figure_format(shell) -> None:
    """A matplotlib figure that a server returns shows as a PNG, as in the kernel's inline
    backend; registered by name, so matplotlib is imported only when a figure comes."""
    def png(figure) -> bytes:
        from IPython.core.pylabtools import print_figure
        return print_figure(figure, "png", bbox_inches="tight")

    shell.display_formatter.formatters["image/png"].for_type_by_name("matplotlib.figure", "Figure", png)


def show_value(shell, server: int, count: int | None, value: Any) -> None:
    """`Out[server:count]:` and the value's richest display: on one line for a plain repr, else
    a header line and the rich output (an array, a table, an image)."""
    from IPython.display import publish_display_data
    data, metadata = shell.display_formatter.format(value)
    prompt = f"Out[{server}:{count}]:"
    text = data.get("text/plain", "")
    if data.keys() <= {"text/plain"}:
        publish_display_data({"text/plain": f"{prompt}\n{text}" if "\n" in text else f"{prompt} {text}"})
        return
    publish_display_data({"text/plain": prompt})
    publish_display_data(data, metadata)
    _close_in_pyplot(value)


def _close_in_pyplot(value: Any) -> None:
    """A figure made with pyplot on a server registers with the kernel's pyplot as it is
    unpickled here, and the inline backend would show it a second time as the cell ends."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    figure = getattr(sys.modules.get("matplotlib.figure"), "Figure", None)
    if pyplot is not None and figure is not None and isinstance(value, figure):
        pyplot.close(value)


class ProgressLine:
    """'n of m servers done' for a cell sent to several servers, once it has run for
    `PROGRESS_DELAY`, then updated in place: an IPython display with a display_id, which
    JupyterLab and nbclient both replace rather than append to, whatever was printed since."""

    def __init__(self, total: int):
        self.total = total
        self._handle = None
        self._shown: tuple[int, int] | None = None

    def update(self, done: int, elapsed: float) -> None:
        if self.total < 2 or (self._handle is None and elapsed < PROGRESS_DELAY):
            return
        shown = (done, int(elapsed))
        if shown == self._shown:
            return
        self._show(f"%px: {done} of {self.total} servers done ({int(elapsed)} s)")
        self._shown = shown

    def finish(self, done: int, elapsed: float) -> None:
        if self._handle is not None:
            self._show(f"%px: {done} of {self.total} servers done in {elapsed:.1f} s")

    def _show(self, text: str) -> None:
        from IPython.display import display
        if self._handle is None:
            self._handle = display({"text/plain": text}, raw=True, display_id=True)
        else:
            self._handle.update({"text/plain": text}, raw=True)


class PxCellError(Exception):
    """A `%px` cell whose commands did not all succeed: raised so that "run all" stops there.

    In the notebook it shows as each server's traceback cut to the frame that failed (as the
    window's traceback view shows it); `tracebacks` has them in full, `responses` the responses,
    by server."""

    def __init__(self, failed: list[CommandResponse]):
        self.responses = {response["server"]: response for response in failed}
        self.tracebacks = {server: response["traceback"] for server, response in self.responses.items()}
        servers = sorted(self.responses, key=lambda server: (server is None, server))
        super().__init__(f"the cell failed on server{'s' if len(servers) > 1 else ''} "
                         f"{', '.join(map(str, servers))}")

    def _render_traceback_(self) -> list[str]:
        """What IPython shows instead of this exception's own traceback (the magic's frames):
        each server's outcome, servers that failed alike (4 servers, one ZeroDivisionError) once."""
        lines = [f"PxCellError: {self}"]
        for group in self._alike():
            first = group[0]
            servers = ", ".join(str(response["server"]) for response in group)
            commands = ", ".join(str(response["id"]) for response in group)
            plural = "s" if len(group) > 1 else ""
            lines += ["", f"[server{plural} {servers} (command{plural} {commands}): {self._outcome(first)}]"]
            lines += self._details(first).rstrip("\n").splitlines()
        return lines

    def _alike(self) -> list[list[CommandResponse]]:
        groups: dict[tuple[str, str], list[CommandResponse]] = {}
        for response in self.responses.values():
            text = _COMMAND_NAME.sub("<command>", response["traceback"] or "")
            groups.setdefault((self._outcome(response), text), []).append(response)
        return list(groups.values())

    def _outcome(self, response: CommandResponse) -> str:
        if response["status"] == Status.EXPIRED:
            return f"{response['status']}: stopped by --timeout {response['time_limit']:g}"
        return str(response["status"])

    def _details(self, response: CommandResponse) -> str:
        short, hidden = last_frame(response["traceback"] or "")
        if hidden:
            frames = f"{hidden} earlier frame{'s' if hidden > 1 else ''}"
            short += f"({frames} hidden: sys.last_value.tracebacks[{response['server']}] has them)\n"
        return short


class CellInterrupted(KeyboardInterrupt):
    """Kernel > Interrupt during a `%px` cell: its commands were interrupted on the servers.
    A KeyboardInterrupt, so that "run all" stops, shown as one line, not as the magic's frames."""

    def _render_traceback_(self) -> list[str]:
        return [f"KeyboardInterrupt: {self}"]


def status_table(statuses: dict[int, dict[str, Any]]) -> dict[str, str]:
    """`%mpipanel status`: one row per server, as text and as an HTML table."""
    header = ("server", "state", "pid", "host", "queue", "command")
    rows = [(str(rank), str(status["state"]), str(status["pid"] or "-"), str(status["processor"] or "-"),
             str(status["queue_length"]), _short(status["command"])) for rank, status in sorted(statuses.items())]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    text = "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
                     for row in [header, *rows])
    cells = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    heads = "".join(f"<th>{name}</th>" for name in header)
    return {"text/plain": text, "text/html": f"<table><thead><tr>{heads}</tr></thead><tbody>{cells}</tbody></table>"}


def _short(command: str | None, width: int = 60) -> str:
    if command is None:
        return "-"
    line = command.strip().splitlines()[0] if command.strip() else ""
    more = line != command.strip()
    if len(line) > width:
        line, more = line[:width], True
    return line + (" …" if more else "")
