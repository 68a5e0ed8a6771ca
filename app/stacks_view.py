"""Where the running commands are now: busy servers grouped by identical call path.

A tab like the overview: "14 servers in flagdata → … → wait_for", then "server 3 in …", each with
the servers it holds; selecting a group shows the stacks of its first server's threads (innermost
call last). The stacks are read without stopping anything (`MPICommandClient.stacks`); the view
asks for them when it opens and when Refresh is pressed, for the servers it was opened on (a
history row's push, a pane's server, or all). The answer comes as a future that the bridge brings
back to the GUI thread, so asking never blocks the window.
"""
from __future__ import annotations

import time
from concurrent.futures import Future

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (QHBoxLayout, QHeaderView, QLabel, QPlainTextEdit, QPushButton, QTreeWidget,
                               QTreeWidgetItem, QWidget)

from core.events import CLIENT_RANK
from core.stacks import StackReport, describe_groups, format_threads, group_stacks

from .pane_layout import bar_over_split
from .rank_ranges import ranks_text


def _rank_name(rank: int) -> str:
    return "the client" if rank == CLIENT_RANK else f"server {rank}"


def _servers_text(ranks: list[int]) -> str:
    servers = [rank for rank in ranks if rank != CLIENT_RANK]
    parts = (["client"] if CLIENT_RANK in ranks else []) + ([ranks_text(servers)] if servers else [])
    return ", ".join(parts)


def scope_text(servers: list[int] | None) -> str:
    return "all servers" if servers is None else f"server{'s' if len(servers) > 1 else ''} {_servers_text(servers)}"


class StacksView(QWidget):
    """Ask with `show_stacks(servers)`; `filled` says when an answer is drawn (`filled_in`: seconds
    from the request to the drawn view)."""

    filled = Signal()

    def __init__(self, bridge, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("stacksView")
        self.bridge = bridge
        self.servers: list[int] | None = None
        """The servers it asks (None: all)."""
        self.reports: dict[int, StackReport | None] = {}
        self.groups: list[tuple[tuple, list[int]]] = []
        self.filled_in: float | None = None
        self._asking = 0
        """The number of the latest request: an older one's answer is not drawn. (The view keeps no
        future: a future holds its callback, which holds the view, and a cycle through a widget
        may be collected on a thread of the core's, destroying the widget there.)"""
        self._asked_at = 0.0
        self.summary = QLabel(self, objectName="stacksSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.refresh_button = QPushButton("Refresh", self, objectName="stacksRefresh")
        self.refresh_button.setToolTip("Ask the servers again where their commands are now")
        self.refresh_button.clicked.connect(self.refresh)
        self.tree = QTreeWidget(self, objectName="stackGroups")
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Where", "Servers"])
        self.tree.setRootIsDecorated(False)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.currentItemChanged.connect(self._show_group)
        self.text = QPlainTextEdit(self, objectName="stackText")
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.refresh_button)
        bar_over_split(self, top, self.tree, self.text, (1, 2))

    def show_stacks(self, servers: list[int] | None) -> None:
        """Ask these servers (None: all) where they are, now and on each Refresh."""
        self.servers = None if servers is None else sorted(set(servers))
        self.refresh()

    def refresh(self) -> None:
        self._asked_at = time.perf_counter()
        self.summary.setText(f"Asking {scope_text(self.servers)} where their commands are…")
        self._asking += 1
        number = self._asking
        try:
            asked = self.bridge.stacks(self.servers)
        except (ValueError, TypeError, RuntimeError) as exc:
            self.summary.setText(f"Cannot ask: {exc}")
            return
        self.bridge.when_done(asked, lambda done: self._answered(done) if number == self._asking else None)

    def _answered(self, done: Future) -> None:
        problem = done.exception()
        if problem is not None:
            self.summary.setText(f"No stacks: {problem}")
            return
        self.reports = done.result()
        answered = [report for report in self.reports.values() if report is not None]
        silent = sorted(rank for rank, report in self.reports.items() if report is None)
        self.groups = sorted(group_stacks(answered), key=lambda group: not group[0])  # the idle last
        self.tree.clear()
        for path, ranks in self.groups:
            item = QTreeWidgetItem([describe_groups([(path, ranks)], _rank_name), _servers_text(ranks)])
            item.setData(0, Qt.ItemDataRole.UserRole, ranks[0])
            item.setToolTip(0, "\n".join(f"{function}  ({file})" for file, function in path) or "runs nothing")
            self.tree.addTopLevelItem(item)
        if silent:
            self.tree.addTopLevelItem(QTreeWidgetItem(["did not answer in time (stopped?)", _servers_text(silent)]))
        self.filled_in = time.perf_counter() - self._asked_at
        busy = sum(bool(report.threads) for report in answered)
        self.summary.setText(f"{scope_text(self.servers).capitalize()}: {busy} running a command, "
                             f"{len(answered) - busy} idle · answered in {self.filled_in * 1e3:.0f} ms at "
                             f"{time.strftime('%H:%M:%S')}")
        if self.tree.topLevelItemCount():
            self.tree.setCurrentItem(self.tree.topLevelItem(0))
        self.filled.emit()

    def _show_group(self, item: QTreeWidgetItem | None, _previous=None) -> None:
        rank = item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None
        report = self.reports.get(rank) if rank is not None else None
        if report is None:
            self.text.setPlainText("")
            return
        where = _rank_name(rank)
        self.text.setPlainText(f"{where}, command #{report.command_id}:\n\n{format_threads(report.threads)}"
                               if report.threads else f"{where} runs nothing.")
