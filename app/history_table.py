"""Every command sent in this session, newest last: what, where, who sent it, how it ended, how long
it took. Code run on the client itself (rank 0's client-side worker) is a row too, "client" in
Target and Server, and the commands it pushed say so in Origin ('client', 'script:LINE').

Selecting a row shows its response; the context menu re-runs it, copies it or its result, frees
its result, and interrupts or cancels it while it is running or queued. A result the client let go
of (to stay within its result memory, or freed on request) says so in the Status column, and its
tooltip says what the value was.
"""
from __future__ import annotations

import pprint
from typing import Any

from PySide6.QtCore import QModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QMenu, QTableView, QWidget

from core.events import CLIENT_RANK
from core.frontends.model import HistoryEntry

from .command_text import headline
from .result_view import DROP_REASONS
from .result_view import is_freed as freed
from .server_states import STATUS_COLORS
from .table_model import ColumnsModel

COLUMNS = ("ID", "Command", "Target", "Server", "Origin", "Status", "Duration")
STATUS_COLUMN = COLUMNS.index("Status")


def is_freed(entry: HistoryEntry) -> bool:
    return entry.response is not None and freed(entry.response.get("ret_dropped"))


def status_text(entry: HistoryEntry) -> str:
    return f"{entry.status} · result freed" if is_freed(entry) else entry.status


def duration_text(entry: HistoryEntry) -> str:
    if not entry.response:
        return ""
    took = (entry.response.get("time_end") or 0) - (entry.response.get("time_start") or 0)
    return f"{took * 1e3:.1f} ms" if took < 1 else f"{took:.2f} s"


def _rank_text(rank) -> str | int:
    return "client" if rank == CLIENT_RANK else rank


def freed_text(dropped: dict[str, Any]) -> str:
    """What a freed result's tooltip says: why it went and what it was."""
    why = DROP_REASONS.get(dropped["reason"], dropped["reason"])
    facts = ", ".join(f"{key} {value}" for key, value in dropped["summary"].items() if key != "repr")
    return f"Result {why}. It was: {facts}\n{dropped['summary'].get('repr', '')}"


class HistoryModel(ColumnsModel):
    """The rows are the session model's own `HistoryEntry`s (the window's replica changes them as
    events come); this model only tells its views which rows changed."""

    def __init__(self, parent=None):
        super().__init__(COLUMNS, parent)
        self.rows: list[HistoryEntry] = []
        self._index: dict[int, int] = {}

    def row_count(self) -> int:
        return len(self.rows)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        row = self.rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (row.id, headline(row.text),
                    "any" if row.target is None else _rank_text(row.target),
                    "" if row.server is None else _rank_text(row.server), row.origin or "", status_text(row),
                    duration_text(row))[column]
        if role == Qt.ItemDataRole.ToolTipRole and column == 1:
            return row.text
        if role == Qt.ItemDataRole.ToolTipRole and column == 2 and row.target is None:
            return "the first available server"
        if role == Qt.ItemDataRole.ToolTipRole and column == STATUS_COLUMN and is_freed(row):
            return freed_text(row.response["ret_dropped"])
        if role == Qt.ItemDataRole.ForegroundRole and column == STATUS_COLUMN:
            return QColor(STATUS_COLORS.get(row.status, "#9e9e9e"))
        return None

    def reset(self, entries: list[HistoryEntry]) -> None:
        """Show these entries instead (a session's snapshot)."""
        self.beginResetModel()
        self.rows = list(entries)
        self._index = {entry.id: position for position, entry in enumerate(self.rows)}
        self.endResetModel()

    def add(self, entry: HistoryEntry) -> None:
        self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows))
        self._index[entry.id] = len(self.rows)
        self.rows.append(entry)
        self.endInsertRows()

    def refresh(self, command_ids: list[int]) -> None:
        """These rows changed (a command started or finished, results were freed): repaint them."""
        for position in [self._index[i] for i in command_ids if i in self._index]:
            self.row_changed(position)

    def row_of(self, command_id: int) -> HistoryEntry | None:
        position = self._index.get(command_id)
        return None if position is None else self.rows[position]


class HistoryTable(QTableView):
    responseSelected = Signal(object)    # the response dict itself, not a copy (see the bridge)
    rerunRequested = Signal(object)      # HistoryEntry
    interruptRequested = Signal(int)     # command id
    cancelRequested = Signal(int)        # command id
    freeRequested = Signal(int)          # command id

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("historyTable")
        self.model_ = HistoryModel(self)
        self.setModel(self.model_)
        self._scroll_when_shown = False
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.setWordWrap(False)
        self.setAlternatingRowColors(True)
        header = self.horizontalHeader()
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for column in (0, 2, 3, 4, 5, 6):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        # Fit the rows in sight, not all of them: with every row, each change of any row measured
        # the whole history again, which after thousands of commands stalled the GUI.
        header.setResizeContentsPrecision(0)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)
        self.selectionModel().currentRowChanged.connect(self._on_current)

    # ----- fed by the window, from its session model ------------------------------------
    def show_entries(self, entries: list[HistoryEntry]) -> None:
        self.model_.reset(entries)
        if self.isVisible():  # hidden, it would measure every row for its columns' widths
            self.scrollToBottom()
        else:
            self._scroll_when_shown = True

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self._scroll_when_shown:
            self._scroll_when_shown = False
            self.scrollToBottom()

    def on_queued(self, entry: HistoryEntry) -> None:
        at_bottom = self.verticalScrollBar().value() >= self.verticalScrollBar().maximum() - 2
        self.model_.add(entry)
        if at_bottom:
            self.scrollToBottom()

    def on_changed(self, command_id: int) -> None:
        self.model_.refresh([command_id])

    def on_finished(self, response: dict[str, Any]) -> None:
        self.model_.refresh([response["id"]])
        current = self.currentIndex()
        if current.isValid() and self.model_.rows[current.row()].id == response["id"]:
            self.responseSelected.emit(response)

    # ----- user actions -------------------------------------------------------------------
    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid() and self.model_.rows[current.row()].response:
            self.responseSelected.emit(self.model_.rows[current.row()].response)

    def _menu(self, position: QPoint) -> None:
        index = self.indexAt(position)
        if not index.isValid():
            return
        row = self.model_.rows[index.row()]
        menu = QMenu(self)
        menu.addAction("Re-run", lambda: self.rerunRequested.emit(row))
        menu.addAction("Copy command", lambda: QGuiApplication.clipboard().setText(row.command))
        copy_result = menu.addAction("Copy result", lambda: QGuiApplication.clipboard().setText(
            pprint.pformat(row.response["ret"]) if row.response["successful"] else row.response["traceback"]))
        copy_result.setEnabled(row.response is not None and not row.response.get("ret_dropped"))
        free = menu.addAction("Free result", lambda: self.freeRequested.emit(row.id))
        free.setEnabled(bool(row.response and row.response.get("ret_size")) and not is_freed(row))
        menu.addSeparator()
        interrupt = menu.addAction("Interrupt", lambda: self.interruptRequested.emit(row.id))
        interrupt.setEnabled(row.status == "running")
        cancel = menu.addAction("Cancel", lambda: self.cancelRequested.emit(row.id))
        cancel.setEnabled(row.status == "queued")
        menu.exec(self.viewport().mapToGlobal(position))
