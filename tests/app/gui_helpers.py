"""Helpers for GUI tests: a window on a session (its own, or one attached to), sending commands from
it and waiting for their responses, its history, answering dialogs."""
from __future__ import annotations

ATTACH_TIMEOUT = 120


def window_on(qtbot, host, closing: str = "detach", theme: str | None = "light"):
    """A window shown on the session `host` (a `SessionHost` of this process), as `mpipanel`
    opens its own, once it has drawn the session's snapshot. Closing it detaches, unless `closing`
    says otherwise."""
    from app import MainWindow
    from app.bridge import SessionBridge
    from core.frontends.local import LocalFrontend
    window = MainWindow(SessionBridge(LocalFrontend(host, label="typed")), theme=theme, closing=closing)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.bridge.model is not None)
    return window


def attached_window(qtbot, target, **options):
    """A window attached to `target` as File > Attach… opens one, once it shows the session
    (`options`: those of `app.attaching.open_attached`, such as remote_python)."""
    import pytest

    from app.attaching import open_attached
    from app.main_window import MainWindow
    windows = []

    def make_window(bridge):
        windows.append(MainWindow(bridge, theme="light", closing="ask"))
        return windows[-1]

    assert open_attached(target, make_window, on_failure=pytest.fail, **options) is not None
    qtbot.waitUntil(lambda: bool(windows), timeout=ATTACH_TIMEOUT * 1000)
    window = windows[0]
    qtbot.waitExposed(window)
    return window


def window_history(window) -> list[list]:
    """The window's history as `mpi_helpers.logged_history` rows."""
    return [[row.id, row.command, row.server, row.status, row.origin] for row in window.history.model_.rows]


def settled(window) -> bool:
    """True once every command in the window's history has its response."""
    return all(row.response is not None for row in window.history.model_.rows)


def sent(qtbot, window, command: str, target: list[int]) -> list[int]:
    """Run `command` from the window; the ids the session gave it, once they are known."""
    window.targets.select(target)
    assert window.run(command), window.message.text()
    futures = window.last_futures
    qtbot.waitUntil(lambda: all(future.command_id is not None for future in futures), timeout=ATTACH_TIMEOUT * 1000)
    return [future.command_id for future in futures]


def finished(window, command_id: int) -> bool:
    """True once the history shows `command_id` with its response (for qtbot.waitUntil)."""
    row = window.history.model_.row_of(command_id)
    return row is not None and row.response is not None


def response(qtbot, window, command_id: int, timeout: int = 20000) -> dict:
    """Wait until the window has the response of `command_id`, and return it."""
    qtbot.waitUntil(lambda: finished(window, command_id), timeout=timeout)
    return window.history.model_.row_of(command_id).response


def answer_next_dialog(button) -> list[str]:
    """Press `button` (a QMessageBox.StandardButton, or a button's text) in the next modal dialog,
    once it shows; the returned list receives the dialog's text."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton

    seen: list[str] = []

    def press() -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, QMessageBox):
            seen.append(dialog.text())
            if isinstance(button, str):
                next(b for b in dialog.findChildren(QPushButton) if b.text() == button).click()
            else:
                dialog.button(button).click()
        else:
            QTimer.singleShot(20, press)

    QTimer.singleShot(0, press)
    return seen


def choose_from_next_menu(text: str) -> None:
    """Trigger the action called `text` in the next popup menu, once it shows."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMenu

    def choose() -> None:
        menu = QApplication.activePopupWidget()
        if isinstance(menu, QMenu):
            action = next(a for a in menu.actions() if a.text() == text)
            menu.close()
            action.trigger()
        else:
            QTimer.singleShot(20, choose)

    QTimer.singleShot(0, choose)


def server_status(rank: int, state: str = "idle", servers_per_host: int = 32) -> dict:
    """A server's status as the client reports it (`core.client.engine`), for widget tests of many
    servers without their processes: `servers_per_host` consecutive ranks to a host (node01, ...)."""
    busy = state == "busy"
    return {"rank": rank, "state": state, "busy": busy, "command_id": rank if busy else None,
            "command": "work()" if busy else None, "queue_length": rank % 3, "pid": 10_000 + rank,
            "worker_pid": 20_000 + rank, "processor": f"node{(rank - 1) // servers_per_host + 1:02d}",
            "timeout": state == "timeout", "lost": state == "lost", "cpu_percent": 95.0 if busy else 0.5,
            "rss": (80 + rank) * 1e6, "preload_error": None, "last_heard": 0.0}
