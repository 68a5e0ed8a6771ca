"""The Qt binding in use does not corrupt Python's reference counts on the calls the panes make.

PySide6 6.12.0 drops a reference to None on every QTextCursor.insertText/insertBlock; a pane
streaming output calls them thousands of times and the interpreter aborts. pyproject.toml keeps
that version out; this test says so if a future one brings the bug back.
"""
from __future__ import annotations

import sys

from PySide6.QtGui import QTextCharFormat, QTextCursor, QTextDocument


def test_text_cursor_inserts_keep_none_alive(qapp):
    document = QTextDocument()
    cursor = QTextCursor(document)
    before = sys.getrefcount(None)
    for _ in range(500):
        cursor.insertText("line", QTextCharFormat())
        cursor.insertBlock()
    assert sys.getrefcount(None) >= before - 10
