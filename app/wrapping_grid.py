"""Many small widgets in equal cells that wrap to the width: the servers' checkboxes at any count.

A fixed number of columns in a box of fixed height cut rows in half and scrolled both ways once a
session had 16 servers. Here the columns follow the width, the area grows a row at a time up to
`max_rows`, and only beyond that a vertical scroll bar appears, never a horizontal one. The
visible height is always a whole number of rows and the bar steps a row at a time, so scrolling
never leaves a row cut in half.
"""
from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QFrame, QLayout, QLayoutItem, QScrollArea, QSizePolicy, QWidget

CELL_SPACING = (8, 2)
"""Pixels between cells, across and down."""


class WrapGridLayout(QLayout):
    """Items in cells as large as the largest item's size hint, left to right, then the next row."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._spacing = QSize(*CELL_SPACING)
        self._cell: QSize | None = None
        """The cell size, until an item's size hint may have changed (`invalidate`)."""
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem) -> None:  # noqa: N802 - Qt's name
        self._items.append(item)
        self._cell = None

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 - Qt's name
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 - Qt's name
        self._cell = None
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:  # noqa: N802 - Qt's name
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt's name
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt's name
        return self.rows_height(self.rows(width))

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return self.minimumSize()

    def minimumSize(self) -> QSize:  # noqa: N802 - Qt's name
        return self.cell()

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802 - Qt's name
        super().setGeometry(rect)
        cell, pitch = self.cell(), self.pitch()
        columns = self.columns(rect.width())
        for index, item in enumerate(self._items):
            row, column = divmod(index, columns)
            item.setGeometry(QRect(rect.topLeft() + QPoint(column * pitch.width(), row * pitch.height()), cell))

    def invalidate(self) -> None:
        self._cell = None
        super().invalidate()

    def cell(self) -> QSize:
        """The size of every cell: the largest item's size hint."""
        if self._cell is None:
            hints = [item.sizeHint() for item in self._items]
            self._cell = QSize(max((h.width() for h in hints), default=0),
                               max((h.height() for h in hints), default=0))
        return self._cell

    def pitch(self) -> QSize:
        """From one cell's corner to the next one's, across and down."""
        return self.cell() + self._spacing

    def columns(self, width: int) -> int:
        return max(1, (width + self._spacing.width()) // max(1, self.pitch().width()))

    def rows(self, width: int) -> int:
        return -(-len(self._items) // self.columns(width))

    def rows_height(self, rows: int) -> int:
        return max(0, rows * self.pitch().height() - self._spacing.height())


class WrappingGrid(QScrollArea):
    """A `WrapGridLayout` that shows up to `max_rows` rows, scrolling vertically beyond them.

    Its height follows its width (more columns, fewer rows): it answers `heightForWidth`, which
    the layouts around it ask."""

    def __init__(self, max_rows: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.max_rows = max_rows
        content = QWidget(self)
        self.grid = WrapGridLayout(content)
        self.setWidget(content)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    def add(self, widget: QWidget) -> None:
        self.grid.addWidget(widget)
        self.updateGeometry()

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt's name
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt's name
        """All rows if they fit in `max_rows`, else `max_rows` of them (beside a scroll bar)."""
        return min(self.grid.heightForWidth(width), self.grid.rows_height(self.max_rows))

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        width = self.grid.pitch().width() * min(8, max(1, self.grid.count()))
        return QSize(width, self.heightForWidth(width))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        width = self.grid.cell().width() + self.verticalScrollBar().sizeHint().width()
        return QSize(width, self.heightForWidth(width))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self.verticalScrollBar().setSingleStep(self.grid.pitch().height())  # a row a step
