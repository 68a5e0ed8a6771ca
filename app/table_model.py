"""The window's flat, read-only table models: named columns, one row per record."""
from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt, QTimer


class ColumnsModel(QAbstractTableModel):
    """A table with the header `columns`; a subclass says how many rows and what is in them."""

    def __init__(self, columns: tuple[str, ...], parent: QObject | None = None):
        super().__init__(parent)
        self.columns = columns
        self._changed: tuple[int, int] | None = None
        """The first and last row changed since the views were last told."""
        self._tell_views = QTimer(self, singleShot=True, interval=0)
        self._tell_views.timeout.connect(self._announce_changes)

    def row_count(self) -> int:
        raise NotImplementedError

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802, B008 - Qt's name and default
        return 0 if parent.isValid() else self.row_count()

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802, B008 - Qt's name and default
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section]
        return None

    def row_changed(self, row: int) -> None:
        """Tell the views that `row` changed, together with every other row changed in this turn
        of the event loop: a view answers each dataChanged by asking for the data of many cells,
        and 32 servers answering at once held the window 150-250 ms with one signal per row."""
        first, last = (row, row) if self._changed is None else self._changed
        self._changed = (min(first, row), max(last, row))
        self._tell_views.start()

    def _announce_changes(self) -> None:
        changed, self._changed = self._changed, None
        if changed is None or changed[0] >= self.row_count():
            return
        last = min(changed[1], self.row_count() - 1)
        self.dataChanged.emit(self.index(changed[0], 0), self.index(last, len(self.columns) - 1))
