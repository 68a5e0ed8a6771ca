"""A live, bounded, filterable stream of one server's (or all servers') output.

Entries are lines: stdout, stderr, log records coloured by level, and one line per finished
command. At most `MAX_LINES` are kept; older ones are dropped and counted, with what the bridge
had to drop under a flood, so memory stays bounded and the user is told.
"""
from __future__ import annotations

import collections
import itertools
import logging
from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor, QFontDatabase, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QPlainTextEdit, QWidget

MAX_LINES = 20_000

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


_CODES = {"stdout": "o", "stderr": "e", "DEBUG": "d", "INFO": "i", "WARNING": "w", "ERROR": "x",
          "CRITICAL": "c", "done": "D", "failed": "F"}
_KINDS = {code: kind for kind, code in _CODES.items()}


@dataclass(frozen=True)
class Line:
    kind: str
    """'stdout', 'stderr', a log level name, or 'done'/'failed' for a command's result line."""
    text: str


def log_kind(level: int) -> str:
    for name in ("CRITICAL", "ERROR", "WARNING", "INFO"):
        if level >= getattr(logging, name):
            return name
    return "DEBUG"


class OutputView(QPlainTextEdit):
    droppedChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setReadOnly(True)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setMaximumBlockCount(MAX_LINES)
        self._stored: collections.deque[str] = collections.deque(maxlen=MAX_LINES)
        """Each line as one string, its kind's code first: plain strings cost the garbage
        collector nothing, where 20,000 objects per pane made its full passes stall the GUI."""
        self.dropped = 0
        self.filter_text = ""
        self._formats: dict[str, QTextCharFormat] = {}

    @property
    def lines(self) -> list[Line]:
        """The lines kept, oldest first."""
        return [Line(_KINDS[stored[0]], stored[1:]) for stored in self._stored]

    def append_lines(self, lines: list[Line], dropped: int = 0) -> None:
        overflow = max(0, len(self._stored) + len(lines) - MAX_LINES)
        self._stored.extend(_CODES[line.kind] + line.text for line in lines)
        if overflow or dropped:
            self.dropped += overflow + dropped
            self.droppedChanged.emit(self.dropped)
        self._insert([line for line in lines if self._matches(line)][-MAX_LINES:])

    def set_filter(self, text: str) -> None:
        self.filter_text = text.lower()
        self.clear()
        self._insert([line for line in self.lines if self._matches(line)])

    def clear_lines(self) -> None:
        self._stored.clear()
        self.dropped = 0
        self.droppedChanged.emit(0)
        self.clear()

    def _matches(self, line: Line) -> bool:
        return not self.filter_text or self.filter_text in line.text.lower()

    def _insert(self, lines: list[Line]) -> None:
        if not lines:
            return
        bar = self.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 4
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.beginEditBlock()
        separator = "" if self.document().isEmpty() else "\n"
        # One insertText per run of lines of one kind ("\n" starts a block); this is also
        # kinder to PySide, whose QTextCursor.insertBlock() leaks a reference to None per call.
        for kind, run in itertools.groupby(lines, key=lambda line: line.kind):
            cursor.insertText(separator + "\n".join(line.text for line in run), self._format(kind))
            separator = "\n"
        cursor.endEditBlock()
        if at_bottom:
            bar.setValue(bar.maximum())

    def _format(self, kind: str) -> QTextCharFormat:
        if kind not in self._formats:
            fmt = QTextCharFormat()
            color = KIND_COLORS.get(kind)
            if color:
                fmt.setForeground(QColor(color))
            if kind in ("done", "failed", "CRITICAL"):
                fmt.setFontWeight(700)
            self._formats[kind] = fmt
        return self._formats[kind]
