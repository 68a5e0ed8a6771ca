"""The command editor: Python with highlighting, keyboard shortcuts, recall and live syntax checks.

Ctrl+Enter runs the whole text, Shift+Enter the selection (or the current line), Ctrl+Up and
Ctrl+Down walk through earlier commands. A syntax error is marked in the text and described under
it before anything can be sent; `syntax_error` is None when the text compiles.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFontDatabase, QKeyEvent, QTextCharFormat, QTextCursor, QTextFormat
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QTextEdit, QVBoxLayout, QWidget

from core.worker.execution import compile_command

from .python_highlighter import PygmentsHighlighter

CHECK_DELAY_MS = 150


class CommandEditor(QPlainTextEdit):
    runRequested = Signal(str)
    """Text to run: the whole command (Ctrl+Enter) or a selection/line (Shift+Enter)."""
    syntaxChecked = Signal(object)
    """The current syntax error message, or None once the text compiles (or is empty)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("commandEditor")
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setTabStopDistance(4 * self.fontMetrics().horizontalAdvance(" "))
        self.setPlaceholderText("Python to run on the servers — Ctrl+Enter runs it all, "
                                "Shift+Enter the selection or line, Ctrl+Up/Down recall")
        self.highlighter = PygmentsHighlighter(self.document())
        self.syntax_error: str | None = None
        self._history: list[str] = []
        self._recall = 0
        self._draft = ""
        self._check_timer = QTimer(self, singleShot=True, interval=CHECK_DELAY_MS)
        self._check_timer.timeout.connect(self.check_syntax)
        self.textChanged.connect(self._check_timer.start)

    # ----- keys ---------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        key, mods = event.key(), event.modifiers()
        enter = key in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and mods & Qt.KeyboardModifier.ControlModifier:
            self._request_run(self.toPlainText())
        elif enter and mods & Qt.KeyboardModifier.ShiftModifier:
            self._request_run(self.selected_or_current_line())
        elif key == Qt.Key.Key_Up and mods & Qt.KeyboardModifier.ControlModifier:
            self.recall(-1)
        elif key == Qt.Key.Key_Down and mods & Qt.KeyboardModifier.ControlModifier:
            self.recall(+1)
        else:
            super().keyPressEvent(event)

    def selected_or_current_line(self) -> str:
        cursor = self.textCursor()
        if cursor.hasSelection():
            return cursor.selectedText().replace("\u2029", "\n")
        return cursor.block().text()

    def _request_run(self, text: str) -> None:
        if text.strip():
            self.runRequested.emit(text)

    # ----- history ------------------------------------------------------------------------
    def remember(self, command: str) -> None:
        """Note a command that was run, for Ctrl+Up/Down."""
        if not self._history or self._history[-1] != command:
            self._history.append(command)
        self._recall = len(self._history)

    def recall(self, step: int) -> None:
        if not self._history:
            return
        if self._recall == len(self._history):
            self._draft = self.toPlainText()
        self._recall = max(0, min(len(self._history), self._recall + step))
        text = self._history[self._recall] if self._recall < len(self._history) else self._draft
        self.setPlainText(text)
        self.moveCursor(QTextCursor.MoveOperation.End)

    # ----- syntax -------------------------------------------------------------------------
    def check_syntax(self) -> None:
        text = self.toPlainText()
        error = None
        marks = []
        if text.strip():
            try:
                compile_command(text)
            except SyntaxError as exc:
                error = f"Syntax error, line {exc.lineno}: {exc.msg}"
                marks = [self._error_mark(exc.lineno or 1)]
        self.setExtraSelections(marks)
        self.syntax_error = error
        self.syntaxChecked.emit(error)

    def _error_mark(self, line: int) -> QTextEdit.ExtraSelection:
        mark = QTextEdit.ExtraSelection()
        fmt = QTextCharFormat()
        fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
        fmt.setUnderlineColor(QColor("#d32f2f"))
        fmt.setProperty(QTextFormat.Property.FullWidthSelection, True)
        fmt.setBackground(QColor(211, 47, 47, 30))
        mark.format = fmt
        block = self.document().findBlockByNumber(max(0, line - 1))
        cursor = QTextCursor(block)
        cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock, QTextCursor.MoveMode.KeepAnchor)
        mark.cursor = cursor
        return mark


class CommandEditorPanel(QWidget):
    """The editor with the line that explains a syntax error under it."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.editor = CommandEditor(self)
        self.problem = QLabel(self, objectName="commandProblem")
        self.problem.setStyleSheet("color: #d32f2f;")
        self.problem.setWordWrap(True)
        self.problem.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.editor)
        layout.addWidget(self.problem)
        self.editor.syntaxChecked.connect(self._show_problem)

    def _show_problem(self, error: str | None) -> None:
        self.problem.setText(error or "")
        self.problem.setVisible(bool(error))
