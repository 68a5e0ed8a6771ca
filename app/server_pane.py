"""One server's pane (or the merged "all servers" pane): its live output and command results.

Top: the output stream with a filter box, Clear, Copy and a count of dropped lines. Bottom: the
response of the latest (or chosen) command: a tree of its result, or its traceback; beside it the
variable explorer of the server (of every server, in the merged pane). A server's own pane also
shows its state and offers Interrupt and Restart; so does the client's pane (rank 0's client-side
worker, `CLIENT_RANK`), which shows what client code and scripts print and log, and has no explorer.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QLineEdit, QPushButton, QSplitter,
                               QStackedWidget, QVBoxLayout, QWidget)

from core.casa.log_lines import parse_line
from core.events import CLIENT_RANK
from core.wire.messages import LogItem

from .command_text import headline, shown_text
from .output_view import Line, OutputView, log_kind
from .result_view import ResultView, summary
from .server_states import STATE_COLORS
from .traceback_view import TracebackView
from .variable_explorer import VariableExplorer


def result_line(response: dict[str, Any]) -> Line:
    """The one line a finished command leaves in the stream."""
    took = (response.get("time_end") or 0) - (response.get("time_start") or 0)
    command = headline(shown_text(response["command"], response.get("shown")), 60)
    head = f"── #{response['id']} {response['status']} in {took * 1e3:.1f} ms: {command}"
    if response["successful"]:
        if response.get("ret_dropped"):
            return Line("done", f"{head} → {response['ret_dropped']['summary']['type']} (freed)")
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


class ResponsePanel(QWidget):
    """A command's response: a heading, then its result tree or its traceback."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.heading = QLabel("No command has finished here yet.", self, objectName="responseHeading")
        self.heading.setWordWrap(True)
        self.heading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result = ResultView(self)
        self.traceback = TracebackView(self)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.result)
        self.stack.addWidget(self.traceback)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addWidget(self.stack)
        self.response: dict[str, Any] | None = None
        self._arrived: dict[str, Any] | None = None
        """The last response to arrive while the turn of the event loop that showed one goes on."""
        self._turn = QTimer(self, singleShot=True, interval=0)
        self._turn.timeout.connect(self._show_last_arrived)

    def show_arrived(self, response: dict[str, Any]) -> None:
        """Show a response that has just arrived: at once if it is the first in this turn of the
        event loop, else the last of them when the turn is over (the merged pane would otherwise
        build 32 result trees when 32 servers answer together). Anything shown on demand meanwhile
        (`show_response`, `show_value`) wins over it."""
        if self._turn.isActive():
            self._arrived = response
            return
        self.show_response(response)
        self._turn.start()

    def _show_last_arrived(self) -> None:
        response, self._arrived = self._arrived, None
        if response is not None:
            self.show_response(response)

    def show_response(self, response: dict[str, Any]) -> None:
        self._turn.stop()
        self._arrived = None
        self.response = response
        took = (response.get("time_end") or 0) - (response.get("time_start") or 0)
        reset = " — the server's namespace was reset" if response.get("namespace_reset") else ""
        where = "the client" if response["server"] == CLIENT_RANK else f"server {response['server']}"
        freed = " — its result was freed" if response.get("ret_dropped") else ""
        self.heading.setText(f"<b>#{response['id']}</b> on {where}: "
                             f"<b>{response['status']}</b> in {took * 1e3:.1f} ms{reset}{freed}")
        if response.get("ret_dropped"):
            self.result.show_dropped(response["ret_dropped"], response.get("ret_size"))
            self.stack.setCurrentWidget(self.result)
        elif response["successful"] or not response.get("traceback"):
            self.result.show_value(response["ret"])
            self.stack.setCurrentWidget(self.result)
        else:
            self.traceback.show_traceback(response["traceback"])
            self.stack.setCurrentWidget(self.traceback)


    def show_value(self, heading: str, key: str, value: Any) -> None:
        """A value that is no command's result (a pulled variable) under its own heading."""
        self._turn.stop()
        self._arrived = None
        self.response = None
        self.heading.setText(heading)
        self.result.show_value(value, key)
        self.stack.setCurrentWidget(self.result)


class ServerPane(QWidget):
    interruptRequested = Signal(int)
    restartRequested = Signal(int)

    def __init__(self, rank: int | None, parent: QWidget | None = None, ranks: list[int] | None = None):
        """`rank` None makes the merged pane of all servers, `ranks`; `CLIENT_RANK` the client's pane."""
        super().__init__(parent)
        self.rank = rank
        self.setObjectName("allServersPane" if rank is None else "clientPane" if rank == CLIENT_RANK
                           else f"serverPane{rank}")
        self.splitter_lines = LineSplitter(prefix_servers=rank is None)
        self.output = OutputView(self)
        self.response = ResponsePanel(self)
        self.explorer = (None if rank == CLIENT_RANK else  # the client-side worker is no server
                         VariableExplorer((ranks or []) if rank is None else [rank], rank is None, self))
        self.filter = QLineEdit(self, placeholderText="Filter lines…", clearButtonEnabled=True)
        self.filter.textChanged.connect(self.output.set_filter)
        clear = QPushButton("Clear", self)
        clear.clicked.connect(self.output.clear_lines)
        copy = QPushButton("Copy", self)
        copy.clicked.connect(self.copy_output)
        self.dropped = QLabel(self, objectName="droppedLines")
        self.output.droppedChanged.connect(self._show_dropped)
        bar = QHBoxLayout()
        if rank is not None:
            self.state = QLabel(self, objectName="serverState")
            bar.addWidget(self.state)
            interrupt = QPushButton("Interrupt", self, objectName="interruptButton")
            where = "the client-side worker" if rank == CLIENT_RANK else "this server"
            interrupt.setToolTip(f"Raise KeyboardInterrupt in the command running on {where}")
            interrupt.clicked.connect(lambda: self.interruptRequested.emit(rank))
            restart = QPushButton("Restart", self, objectName="restartButton")
            restart.setToolTip(f"Give {where} a fresh, empty namespace (a running command fails)")
            restart.clicked.connect(lambda: self.restartRequested.emit(rank))
            bar.addWidget(interrupt)
            bar.addWidget(restart)
        bar.addWidget(self.filter, 1)
        bar.addWidget(self.dropped)
        bar.addWidget(clear)
        bar.addWidget(copy)
        split = QSplitter(Qt.Orientation.Vertical, self)
        below = QSplitter(Qt.Orientation.Horizontal, self)
        below.addWidget(self.response)
        if self.explorer is not None:
            below.addWidget(self.explorer)
        split.addWidget(self.output)
        split.addWidget(below)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(split)

    def add_output(self, server: int, items: list, dropped: int) -> None:
        self.output.append_lines(self.splitter_lines.feed(server, items), dropped)

    def add_response(self, response: dict[str, Any]) -> None:
        lines = self.splitter_lines.flush(response["server"]) if response["server"] is not None else []
        self.output.append_lines([*lines, result_line(response)])
        self.response.show_arrived(response)

    def set_status(self, status: dict[str, Any]) -> None:
        if self.rank is None:
            return
        self.state.setText(f'<span style="color:{STATE_COLORS.get(status["state"], "#9e9e9e")}">●</span> '
                           f'{status["state"]} · pid {status["pid"]} · worker {status["worker_pid"]} · '
                           f'{status["processor"]}')

    def copy_output(self) -> None:
        QGuiApplication.clipboard().setText("\n".join(line.text for line in self.output.lines))

    def _show_dropped(self, count: int) -> None:
        self.dropped.setText(f"{count:,} lines dropped" if count else "")
