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

from core.events import CLIENT_RANK

from .backlog import BacklogDrawing, Part
from .output_view import Line, OutputView
from .pane_lines import LineSplitter, result_line
from .result_view import NOT_HERE, ResultView, is_freed
from .server_states import STATE_COLORS
from .traceback_view import TracebackView
from .variable_explorer import VariableExplorer


class ResponsePanel(QWidget):
    """A command's response: a heading, then its result tree or its traceback."""

    resultWanted = Signal(int)
    """A command's response shown on demand has its result at the session (too large to come to
    an attached window with the events): the window fetches it and shows it (`show_fetched`)."""

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

    def show_response(self, response: dict[str, Any], fetch: bool = False) -> None:
        """Show `response`; with `fetch`, ask for its result if the session kept it (`resultWanted`)."""
        self._turn.stop()
        self._arrived = None
        self.response = response
        took = (response.get("time_end") or 0) - (response.get("time_start") or 0)
        reset = " — the server's namespace was reset" if response.get("namespace_reset") else ""
        where = "the client" if response["server"] == CLIENT_RANK else f"server {response['server']}"
        dropped = response.get("ret_dropped")
        fetching = fetch and dropped is not None and dropped["reason"] == "link"
        freed = "" if not dropped else " — its result was freed" if is_freed(dropped) else \
            f" — its result is {NOT_HERE[dropped['reason']]}" + (" (fetching it…)" if fetching else "")
        self.heading.setText(f"<b>#{response['id']}</b> on {where}: "
                             f"<b>{response['status']}</b> in {took * 1e3:.1f} ms{reset}{freed}")
        if dropped:
            self.result.show_dropped(dropped, response.get("ret_size"))
            self.stack.setCurrentWidget(self.result)
            if fetching:
                self.resultWanted.emit(response["id"])
        elif response["successful"] or not response.get("traceback"):
            self.result.show_value(response["ret"])
            self.stack.setCurrentWidget(self.result)
        else:
            self.traceback.show_traceback(response["traceback"])
            self.stack.setCurrentWidget(self.traceback)


    def show_fetched(self, response: dict[str, Any]) -> None:
        """The whole response of the command shown, fetched from the session (`resultWanted`)."""
        if self.response is not None and self.response["id"] == response["id"]:
            self.show_response(response)

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
        self._backlog: BacklogDrawing | None = None
        """A session's backlog to draw when the pane first shows (`show_backlog`)..."""
        self._drawing: BacklogDrawing | None = None
        """...and the one being drawn."""
        self._arrived_since_backlog = False
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
        self._arrived_since_backlog = True

    def show_backlog(self, parts: list[Part], dropped: int, result_lines: dict[int, Line]) -> None:
        """Show a session's backlog (`app.backlog`) instead of what was shown: at once if the pane
        is in sight, else when it first shows (a session of many servers has many panes no one
        looks at), before what came meanwhile. `result_lines`: the lines of finished commands by
        id, shared by the panes of one snapshot (each command's is made once)."""
        self.output.clear_lines()
        self.splitter_lines = LineSplitter(prefix_servers=self.rank is None)
        self._backlog = BacklogDrawing(parts, dropped, self.rank is None, result_lines)
        self._drawing = None
        self._arrived_since_backlog = False
        if self.isVisible():
            self._draw_backlog()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self._backlog is not None and self._drawing is None:
            self._draw_backlog()

    def _draw_backlog(self) -> None:
        """Make the backlog's lines a few thousand parts per turn of the event loop, then show
        them before the lines that came meanwhile."""
        drawing = self._drawing = self._backlog
        if not drawing.step():
            QTimer.singleShot(0, lambda: self._draw_backlog() if self._drawing is drawing else None)
            return
        self._backlog = self._drawing = None
        since = (self.output.lines, self.output.dropped)
        self.output.clear_lines()
        self.output.append_lines(drawing.lines, drawing.dropped)
        self.output.append_lines(*since)
        if drawing.last is not None and not self._arrived_since_backlog:
            self.response.show_response(drawing.last)

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
