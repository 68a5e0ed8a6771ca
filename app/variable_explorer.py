"""What a server's namespace holds, as a table: name, type, shape or length, size and a preview.

It shows summaries (`core.wire.messages.NameSummary`: facts about each variable, never its value)
that the window feeds it (`app.explorer_feed`). A filter box narrows the names; a double-click asks
for the value (`pullRequested`), which the window pulls and shows in the pane's result tree. The
merged pane's explorer lists every server's names, with a Server column.

Summaries can come from 32 servers at once, so they are applied together at most every
`REFRESH_MS`, and only while the explorer is in sight (a hidden one applies what it was sent when
it shows again). When the names shown stay the same (a command changed values only), the rows are
updated in place, keeping the selection and the scroll position; otherwise the table is reset.
The model filters and sorts its rows itself, in Python, with no QSortFilterProxyModel: a proxy
asks the model for each row's name through Qt, and with 32 servers × 200 names a filtered refresh
took 70-80 ms that way against 5-10 ms here (sorting through a proxy would take two such calls
per comparison).
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QTableView,
                               QVBoxLayout, QWidget)

from core.wire.messages import NameSummary

from .sizes import size_text
from .table_model import ColumnsModel

REFRESH_MS = 100
COLUMNS = ("Name", "Type", "Shape / length", "Size", "Preview")
SORT_KEY = Qt.ItemDataRole.UserRole


def _extent(entry: NameSummary) -> str:
    if entry.shape is not None:
        return " × ".join(map(str, entry.shape)) if entry.shape else "scalar"
    return "" if entry.length is None else str(entry.length)


def _extent_key(entry: NameSummary) -> int:
    if entry.shape is not None:
        count = 1
        for axis in entry.shape:
            count *= axis
        return count
    return -1 if entry.length is None else entry.length


class NamespaceModel(ColumnsModel):
    """One row per (server, variable) whose name holds the filter text, in server order, then
    namespace order, or as sorted."""

    def __init__(self, with_server: bool, parent=None):
        super().__init__((("Server",) if with_server else ()) + COLUMNS, parent)
        self.first = 1 if with_server else 0
        """The column of Name."""
        self.namespaces: dict[int, list[NameSummary]] = {}
        self.rows: list[tuple[int, NameSummary]] = []
        """What the table shows."""
        self.total = 0
        """How many names there are, shown or not."""
        self._filter = ""
        self._sort: tuple[int, Qt.SortOrder] | None = None

    def row_count(self) -> int:
        return len(self.rows)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole) -> Any:
        rank, entry = self.rows[index.row()]
        column = index.column() - self.first
        if role == Qt.ItemDataRole.DisplayRole:
            if column < 0:
                return rank
            return (entry.name, entry.type.rpartition(".")[2], _extent(entry), size_text(entry.nbytes),
                    entry.preview)[column]
        if role == Qt.ItemDataRole.ToolTipRole and column in (1, 4):
            return entry.type if column == 1 else entry.preview
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 3:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def set_namespaces(self, changed: dict[int, list[NameSummary]]) -> None:
        """Replace these servers' variables (an empty list: the server holds none)."""
        self.namespaces.update(changed)
        self.total = sum(map(len, self.namespaces.values()))
        rows = self._shown_rows()
        if [(rank, entry.name) for rank, entry in rows] == [(rank, entry.name) for rank, entry in self.rows]:
            self.rows = rows
            if rows:
                self.dataChanged.emit(self.index(0, 0), self.index(len(rows) - 1, len(self.columns) - 1))
            return
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def set_filter(self, text: str) -> None:
        """Show only the names that hold `text`, whatever its case."""
        self._filter = text.lower()
        self.beginResetModel()
        self.rows = self._shown_rows()
        self.endResetModel()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._sort = None if column < 0 else (column, order)
        self.layoutAboutToBeChanged.emit()
        self.rows = self._shown_rows()
        self.layoutChanged.emit()

    def _shown_rows(self) -> list[tuple[int, NameSummary]]:
        needle = self._filter
        rows = [(rank, entry) for rank in sorted(self.namespaces) for entry in self.namespaces[rank]
                if needle in entry.name.lower()]
        if self._sort is None:
            return rows
        column, order = self._sort
        column -= self.first
        key = ((lambda row: row[0]) if column < 0 else
               (lambda row: row[1].name.lower()) if column == 0 else
               (lambda row: row[1].type) if column == 1 else
               (lambda row: _extent_key(row[1])) if column == 2 else
               (lambda row: row[1].nbytes) if column == 3 else
               (lambda row: row[1].preview))
        return sorted(rows, key=key, reverse=order == Qt.SortOrder.DescendingOrder)


class VariableExplorer(QWidget):
    pullRequested = Signal(str, int)  # variable name, server rank
    shownChanged = Signal(bool)
    """It came into sight (True) or went out of it: the window asks for summaries only while shown."""

    def __init__(self, ranks: list[int], with_server: bool, parent: QWidget | None = None):
        """`ranks`: the servers whose variables it lists; `with_server` adds the Server column."""
        super().__init__(parent)
        self.setObjectName("variableExplorer")
        self.ranks = ranks
        self.model_ = NamespaceModel(with_server, self)
        self.filter = QLineEdit(self, objectName="variableFilter", placeholderText="Filter names…",
                                clearButtonEnabled=True)
        self.filter.textChanged.connect(self.model_.set_filter)
        self.filter.textChanged.connect(lambda _text: self._show_count())
        self.count = QLabel(self, objectName="variableCount")
        self.message = QLabel(self, objectName="explorerMessage", wordWrap=True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()
        self.table = QTableView(self, objectName="variableTable")
        self.table.setModel(self.model_)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        self.table.setToolTip("Double-click a variable to pull its value into the result tree")
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        for column, width in zip(range(len(self.model_.columns)), ((50,) if with_server else ()) + (80, 70, 95, 65)):
            header.resizeSection(column, width)
        self.table.doubleClicked.connect(self._on_double_click)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("<b>Variables</b>", self))
        bar.addWidget(self.filter, 1)
        bar.addWidget(self.count)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.message)
        layout.addWidget(self.table)
        self._pending: dict[int, list[NameSummary]] = {}
        self._timer = QTimer(self, singleShot=True, interval=REFRESH_MS)
        self._timer.timeout.connect(self.apply_pending)
        self._show_count()

    def set_names(self, rank: int, names: list[NameSummary]) -> None:
        """A new summary of server `rank`'s namespace; shown within `REFRESH_MS` while in sight."""
        self._pending[rank] = names
        if self.isVisible() and not self._timer.isActive():
            self._timer.start()

    def apply_pending(self) -> None:
        if self._pending:
            pending, self._pending = self._pending, {}
            self.model_.set_namespaces(pending)
            self._show_count()

    def show_message(self, text: str, error: bool = False) -> None:
        self.message.setStyleSheet("color: #d32f2f;" if error else "")
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self.apply_pending()
        self.shownChanged.emit(True)

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().hideEvent(event)
        self.shownChanged.emit(False)

    def _show_count(self) -> None:
        total, shown = self.model_.total, len(self.model_.rows)
        names = f"{total:,} name{'s' if total != 1 else ''}"
        self.count.setText(names if shown == total else f"{shown:,} of {names}")

    def _on_double_click(self, index: QModelIndex) -> None:
        rank, entry = self.model_.rows[index.row()]
        self.pullRequested.emit(entry.name, rank)
