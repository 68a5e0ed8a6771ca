"""The Qt binding in use does not corrupt Python's reference count of None on the calls the panes make.

PySide6-Essentials 6.12.0 drops a reference to None on every call of a method that returns
nothing (`QLabel.setText`, `QWidget.update`, `QPlainTextEdit.setPlainText`, `moveCursor`, ...).
Before Python 3.12 made None immortal, a window refreshing its panes reached a refcount of zero
within minutes and the interpreter aborted ("none_dealloc"). pyproject.toml keeps that version
out; this test says so if a version allowed there brings the bug back.
"""
from __future__ import annotations

import sys

from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QLabel, QPlainTextEdit

CALLS = 500


def test_calls_returning_nothing_keep_none_alive(qapp):
    label, editor = QLabel(), QPlainTextEdit()
    before = sys.getrefcount(None)
    for _ in range(CALLS):
        label.setText("busy")
        label.update()
        editor.setPlainText("x = 1")
        editor.moveCursor(QTextCursor.MoveOperation.End)
    assert abs(sys.getrefcount(None) - before) <= 2, "about one reference to None lost per call"
