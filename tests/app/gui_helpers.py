"""Helpers for GUI tests: waiting for a command's response in the window, answering dialogs."""
from __future__ import annotations


def finished(window, command_id: int) -> bool:
    """True once the history shows `command_id` with its response (for qtbot.waitUntil)."""
    row = window.history.model_.row_of(command_id)
    return row is not None and row.response is not None


def response(qtbot, window, command_id: int, timeout: int = 20000) -> dict:
    """Wait until the window has the response of `command_id`, and return it."""
    qtbot.waitUntil(lambda: finished(window, command_id), timeout=timeout)
    return window.history.model_.row_of(command_id).response


def answer_next_dialog(button) -> list[str]:
    """Press `button` (a QMessageBox.StandardButton) in the next modal dialog, once it shows;
    the returned list receives the dialog's text."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    seen: list[str] = []

    def press() -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, QMessageBox):
            seen.append(dialog.text())
            dialog.button(button).click()
        else:
            QTimer.singleShot(20, press)

    QTimer.singleShot(0, press)
    return seen
