"""A live, bounded, filterable stream of one server's (or all servers') output.

Entries are lines: stdout, stderr, log records coloured by level, and one line per finished
command. At most `MAX_LINES` are kept; older ones are dropped and counted, with what the bridge
had to drop under a flood, so memory stays bounded and the user is told.

The view draws like a terminal: it keeps plain strings and paints only the lines in sight, so
adding lines costs the same whether 100 or 20,000 are kept. (A QPlainTextEdit laid out and pruned
its document on every hand-over, 4–5 ms each at the cap, which under a flood of four servers added
up to 40–50 ms stalls of the whole GUI.) Lines are selected whole, by click, drag, Shift+click or
Ctrl+A, and copied with Ctrl+C or the context menu.
"""
from __future__ import annotations

import collections
import itertools
import logging
from typing import NamedTuple

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import (QColor, QContextMenuEvent, QFont, QFontDatabase, QGuiApplication,
                           QKeyEvent, QKeySequence, QMouseEvent, QPainter, QPaintEvent, QResizeEvent)
from PySide6.QtWidgets import QAbstractScrollArea, QMenu, QScrollBar, QWidget

MAX_LINES = 20_000
MARGIN = 4
"""Pixels left of the text, as a text edit leaves them."""

KIND_COLORS = {
    "stdout": None,
    "stderr": "#c62828",
    "DEBUG": "#757575",
    "INFO": "#1565c0",
    "WARNING": "#ef6c00",
    "ERROR": "#c62828",
    "CRITICAL": "#b71c1c",
    "done": "#2e7d32",
    "failed": "#c62828",
}
BOLD_KINDS = ("done", "failed", "CRITICAL")

_CODES = {"stdout": "o", "stderr": "e", "DEBUG": "d", "INFO": "i", "WARNING": "w", "ERROR": "x",
          "CRITICAL": "c", "done": "D", "failed": "F"}
_KINDS = {code: kind for kind, code in _CODES.items()}
_BOLD_CODES = {_CODES[kind] for kind in BOLD_KINDS}


class Line(NamedTuple):
    """One line of output. A tuple, because floods make tens of thousands a second."""

    kind: str
    """'stdout', 'stderr', a log level name, or 'done'/'failed' for a command's result line."""
    text: str


def log_kind(level: int) -> str:
    for name in ("CRITICAL", "ERROR", "WARNING", "INFO"):
        if level >= getattr(logging, name):
            return name
    return "DEBUG"


def _line(stored: str) -> Line:
    return Line(_KINDS[stored[0]], stored[1:])


class OutputView(QAbstractScrollArea):
    droppedChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._stored: collections.deque[str] = collections.deque(maxlen=MAX_LINES)
        """Each line as one string, its kind's code first: plain strings cost the garbage
        collector nothing, where 20,000 objects per pane made its full passes stall the GUI."""
        self._shown: collections.deque[str] = collections.deque(maxlen=MAX_LINES)
        """The stored lines that pass the filter: the rows of the view."""
        self._widest = 0
        """Characters in the longest shown line, for the horizontal scroll range."""
        self._anchor: int | None = None
        self._cursor: int | None = None
        """The selection: rows of `_shown` from the anchor (where it began) to the cursor."""
        self.dropped = 0
        self.filter_text = ""

    # ----- content ------------------------------------------------------------------------
    @property
    def lines(self) -> list[Line]:
        """The lines kept, oldest first."""
        return [_line(stored) for stored in self._stored]

    @property
    def shown_lines(self) -> list[Line]:
        """The lines that pass the filter, oldest first: the view's rows."""
        return [_line(stored) for stored in self._shown]

    @property
    def line_count(self) -> int:
        return len(self._stored)

    def append_lines(self, lines: list[Line], dropped: int = 0) -> None:
        overflow = max(0, len(self._stored) + len(lines) - MAX_LINES)
        new = [_CODES[line.kind] + line.text for line in lines]
        self._stored.extend(new)
        if overflow or dropped:
            self.dropped += overflow + dropped
            self.droppedChanged.emit(self.dropped)
        self._show([stored for stored in new if self._matches(stored)][-MAX_LINES:])

    def set_filter(self, text: str) -> None:
        self.filter_text = text.lower()
        self._reset_rows()
        self._show([stored for stored in self._stored if self._matches(stored)])

    def clear_lines(self) -> None:
        self._stored.clear()
        self.dropped = 0
        self.droppedChanged.emit(0)
        self._reset_rows()

    def _matches(self, stored: str) -> bool:
        return not self.filter_text or self.filter_text in stored[1:].lower()

    def _reset_rows(self) -> None:
        self._shown.clear()
        self._widest = 0
        self._anchor = self._cursor = None
        self._update_scroll_ranges()
        self.viewport().update()

    def _show(self, new: list[str]) -> None:
        """Add rows at the bottom, following it if the user was there, else keeping their place."""
        if not new:
            return
        bar = self.verticalScrollBar()
        following = bar.value() >= bar.maximum()
        pushed_out = max(0, len(self._shown) + len(new) - MAX_LINES)
        self._shown.extend(new)
        self._widest = max(self._widest, max(map(len, new)) - 1)
        if pushed_out and self._anchor is not None:
            self._anchor, self._cursor = self._anchor - pushed_out, self._cursor - pushed_out
            if max(self._anchor, self._cursor) < 0:
                self._anchor = self._cursor = None
            else:
                self._anchor, self._cursor = max(0, self._anchor), max(0, self._cursor)
        place = bar.value() - pushed_out
        self._update_scroll_ranges()
        bar.setValue(bar.maximum() if following else place)
        self.viewport().update()

    # ----- geometry -----------------------------------------------------------------------
    def _line_height(self) -> int:
        return self.fontMetrics().lineSpacing()

    def _rows_in_view(self) -> int:
        return max(1, self.viewport().height() // self._line_height())

    def _update_scroll_ranges(self) -> None:
        rows = self._rows_in_view()
        vertical = self.verticalScrollBar()
        vertical.setRange(0, max(0, len(self._shown) - rows))
        vertical.setPageStep(rows)
        advance = self.fontMetrics().horizontalAdvance("M")
        horizontal = self.horizontalScrollBar()
        horizontal.setRange(0, max(0, self._widest * advance + 2 * MARGIN - self.viewport().width()))
        horizontal.setPageStep(self.viewport().width())
        horizontal.setSingleStep(advance)

    def visible_lines(self) -> list[Line]:
        """The rows in sight now, top first."""
        first = self.verticalScrollBar().value()
        return [_line(stored) for stored in itertools.islice(self._shown, first, first + self._rows_in_view())]

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        bar = self.verticalScrollBar()
        following = bar.value() >= bar.maximum()
        super().resizeEvent(event)
        self._update_scroll_ranges()
        if following:
            bar.setValue(bar.maximum())

    def scrollContentsBy(self, dx: int, dy: int) -> None:  # noqa: N802 - Qt's name
        self.viewport().update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self.viewport())
        height = self._line_height()
        ascent = self.fontMetrics().ascent()
        plain, bold = QFont(self.font()), QFont(self.font())
        bold.setWeight(QFont.Weight.Bold)
        palette = self.palette()
        width = self.viewport().width()
        x = MARGIN - self.horizontalScrollBar().value()
        first = self.verticalScrollBar().value()
        low, high = self._selection() or (-1, -1)
        rows = itertools.islice(self._shown, first, first + self._rows_in_view() + 1)
        for y, (row, stored) in zip(itertools.count(0, height), enumerate(rows, first)):
            if low <= row <= high:
                painter.fillRect(0, y, width, height, palette.highlight())
                painter.setPen(palette.highlightedText().color())
            else:
                color = KIND_COLORS[_KINDS[stored[0]]]
                painter.setPen(QColor(color) if color else palette.text().color())
            painter.setFont(bold if stored[0] in _BOLD_CODES else plain)
            painter.drawText(x, y + ascent, stored[1:])

    # ----- selection and copying ----------------------------------------------------------
    def _selection(self) -> tuple[int, int] | None:
        if self._anchor is None:
            return None
        return min(self._anchor, self._cursor), max(self._anchor, self._cursor)

    def selected_text(self) -> str:
        selection = self._selection()
        if selection is None:
            return ""
        low, high = selection
        return "\n".join(stored[1:] for stored in itertools.islice(self._shown, low, high + 1))

    def select_all(self) -> None:
        if self._shown:
            self._anchor, self._cursor = 0, len(self._shown) - 1
            self.viewport().update()

    def copy_selection(self) -> None:
        if self._selection() is not None:
            QGuiApplication.clipboard().setText(self.selected_text())

    def _row_at(self, point: QPoint) -> int:
        row = self.verticalScrollBar().value() + point.y() // self._line_height()
        return min(max(row, 0), len(self._shown) - 1)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        if event.button() != Qt.MouseButton.LeftButton or not self._shown:
            return super().mousePressEvent(event)
        row = self._row_at(event.position().toPoint())
        extend = event.modifiers() & Qt.KeyboardModifier.ShiftModifier and self._anchor is not None
        self._anchor, self._cursor = (self._anchor if extend else row), row
        self.viewport().update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        if not event.buttons() & Qt.MouseButton.LeftButton or self._anchor is None:
            return super().mouseMoveEvent(event)
        y = event.position().y()
        bar = self.verticalScrollBar()
        if y < 0 or y > self.viewport().height():  # dragging past an edge scrolls that way
            bar.setValue(bar.value() + (-1 if y < 0 else 1))
        self._cursor = self._row_at(event.position().toPoint())
        self.viewport().update()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        bar = self.verticalScrollBar()
        if event.matches(QKeySequence.StandardKey.Copy):
            self.copy_selection()
        elif event.matches(QKeySequence.StandardKey.SelectAll):
            self.select_all()
        elif event.key() in (Qt.Key.Key_Home, Qt.Key.Key_End):
            bar.triggerAction(QScrollBar.SliderAction.SliderToMinimum if event.key() == Qt.Key.Key_Home
                              else QScrollBar.SliderAction.SliderToMaximum)
        else:
            super().keyPressEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802 - Qt's name
        menu = QMenu(self)
        copy = menu.addAction("Copy", self.copy_selection)
        copy.setShortcut(QKeySequence.StandardKey.Copy)
        copy.setEnabled(self._selection() is not None)
        menu.addAction("Select all", self.select_all).setShortcut(QKeySequence.StandardKey.SelectAll)
        menu.exec(event.globalPos())
