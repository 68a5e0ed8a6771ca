"""A failed command's traceback: highlighted, shortened to the frame that failed, expandable; for
an 'expired' command, the stack it was in when its time limit was reached, below it.

Most of a traceback is context; what a user reads first is the last frame and the exception. The
view shows those and one click shows the whole text.
"""
from __future__ import annotations

from pygments.lexers import PythonTracebackLexer
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from core.wire.responses import last_frame

from .python_highlighter import PygmentsHighlighter


class TracebackView(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.text = QPlainTextEdit(self, objectName="tracebackText")
        self.text.setReadOnly(True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.highlighter = PygmentsHighlighter(self.text.document(), PythonTracebackLexer(stripnl=False))
        self.toggle = QPushButton(self, objectName="tracebackToggle")
        self.toggle.setFlat(True)
        self.toggle.setStyleSheet("text-align: left; color: palette(link);")
        self.toggle.clicked.connect(self._toggle)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.text)
        layout.addWidget(self.toggle)
        self._full = ""
        self._stack = ""
        self.expanded = False

    def show_traceback(self, traceback: str, stack: str | None = None) -> None:
        """`stack`: where an 'expired' command was when its time limit was reached, shown whole
        below the traceback (which is where the interrupt landed)."""
        self._full = traceback.rstrip("\n")
        self._stack = stack.rstrip("\n") if stack else ""
        self.expanded = False
        self._render()

    def _toggle(self) -> None:
        self.expanded = not self.expanded
        self._render()

    def _render(self) -> None:
        short, hidden = last_frame(self._full)
        shown = self._full if self.expanded or not hidden else short
        if self._stack:
            shown += f"\n\nWhere it was when its time limit was reached:\n{self._stack}"
        self.text.setPlainText(shown)
        self.toggle.setVisible(bool(hidden))
        self.toggle.setText(f"▾ Hide the {hidden} earlier frames" if self.expanded
                            else f"▸ Show the full traceback ({hidden} earlier frames)")
