"""The window's hold on its session: which session it shows, the state of the link to it, where its
log is, and what closing the window does to it.

A window shows either its own session (`mpipanel`: the session lives in the window's process and
ends with it) or one it is attached to (`mpipanel --attach`, File > Attach…: the session lives in
another process and goes on when the window goes). Closing the window therefore stops the session,
asks whether to detach or stop it, or just detaches (`Closing`). Stopping takes as long as the
servers take to stop (a command deaf to Interrupt can hold it for the client's whole stop timeout),
so the window stays up, disabled, saying what it waits for, and closes once the session has ended.
"""
from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from PySide6.QtCore import QObject, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QMouseEvent
from PySide6.QtWidgets import QLabel, QMenu, QMessageBox, QStatusBar, QWidget

if TYPE_CHECKING:
    from .bridge import SessionBridge

Closing = Literal["stop", "ask", "detach"]


def open_with_desktop(path: str) -> None:
    QDesktopServices.openUrl(QUrl.fromLocalFile(path))


class PathLabel(QLabel):
    """A file's name in the status bar; a click opens the file (`opener`: with the desktop's viewer)."""

    def __init__(self, parent: QWidget | None = None, **kwargs):
        super().__init__(parent, **kwargs)
        self.path: str | None = None
        self.opener: Callable[[str], None] = open_with_desktop

    def show_path(self, path: str | None, prefix: str) -> None:
        self.path = path
        self.setText(f"{prefix}: {Path(path).name}" if path else "")
        self.setToolTip(path or "")  # the whole path; a click opens it
        if path:
            self.setCursor(Qt.CursorShape.PointingHandCursor)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        if self.path and event.button() == Qt.MouseButton.LeftButton:
            self.opener(self.path)
        super().mouseReleaseEvent(event)


class SessionStatus(QObject):
    attachRequested = Signal()
    """File > Attach…: the window lets the user choose a session to open in a window of its own."""

    def __init__(self, bridge: SessionBridge, closing: Closing, window):
        super().__init__(window)
        self.bridge = bridge
        self.window = window
        self.closing = closing
        self.stopping = False
        """The session is being stopped; the window closes once it has."""
        self.ended: str | None = None
        """Why the session ended, once it has."""
        self.log_copy: Path | None = None
        """The local copy of the session's log, once one was read from the session's machine."""
        self.link_label = QLabel(window, objectName="linkLabel")
        self.log_label = PathLabel(window, objectName="sessionLogLabel")
        self.log_label.show_path(bridge.info.session_log_path, "session log")
        if bridge.files_elsewhere:
            self.log_label.opener = self._open_log_elsewhere
        bridge.linkState.connect(self._on_link)
        bridge.sessionEnded.connect(self._on_ended)

    def title(self) -> str:
        info = self.bridge.info
        servers = f"{len(info.servers)} server{'s' if len(info.servers) != 1 else ''}"
        if not self.bridge.attached:
            return f"mpipanel — session {info.session_id} · {info.launch_mode}, {servers}"
        what = f"{info.kind} {Path(info.program).name}" if info.program else info.kind
        return f"mpipanel — {info.session_id} on {info.host} ({what}, {servers}) · attached"

    # ----- construction, from the window ----------------------------------------------------
    def add_labels(self, bar: QStatusBar) -> None:
        bar.addPermanentWidget(self.link_label)
        bar.addPermanentWidget(self.log_label)
        self._show_link("attaching…" if self.bridge.attached else "")

    def add_actions(self, menu: QMenu) -> None:
        self.attach_action = menu.addAction("&Attach…", self.attachRequested.emit)
        self.attach_action.setToolTip("Open a window on another running session of yours")
        self.detach_action = menu.addAction("&Detach", self.detach)
        self.detach_action.setEnabled(self.closing != "stop")
        self.detach_action.setToolTip(
            "Close this window and leave the session running" if self.closing != "stop" else
            "This window's session lives in this window's process and ends with it; start a session "
            "with `python -m core --serve` to attach to it and detach at will")

    # ----- what the session and its link say -------------------------------------------------
    def show_snapshot(self) -> None:
        if self.bridge.attached and not self.ended:
            self._show_link(self.bridge.link or "up")

    def _on_link(self, state: str) -> None:
        if self.bridge.attached:  # a session in this process has no link to speak of
            self._show_link(state)

    def _on_ended(self, reason: str) -> None:
        self.ended = reason
        self.link_label.setText(f"session ended: {reason}")
        self.link_label.setStyleSheet("color: #c62828;")
        self.window.run_button.setEnabled(False)

    def _show_link(self, state: str) -> None:
        if self.ended is not None or not state:
            return
        info = self.bridge.info
        if state == "up":
            text, colour = f"attached to {info.session_id} on {info.host} · link up", ""
        elif state.startswith("ended:"):
            text, colour = f"session ended:{state[len('ended:'):]}", "#c62828"
        elif state.startswith("down:"):
            text, colour = f"link down:{state[len('down:'):]} · reconnecting…", "#ef6c00"
        else:
            text, colour = state, ""
        self.link_label.setText(text)
        self.link_label.setStyleSheet(f"color: {colour};" if colour else "")

    def _open_log_elsewhere(self, _path: str) -> None:
        """The log of a session on another machine (also one that has ended): read through ssh,
        kept in a local copy, opened with the desktop's viewer."""
        self.bridge.when_done(self.bridge.read_session_log(), self._log_read)

    def _log_read(self, reading: Future) -> None:
        if reading.exception() is not None:
            QMessageBox.warning(self.window, "Cannot read the session log", str(reading.exception()))
            return
        copies = Path(tempfile.gettempdir()) / f"mpipanel-session-logs-{os.getuid()}"
        copies.mkdir(mode=0o700, exist_ok=True)
        copy = copies / f"{self.bridge.info.host}-{Path(self.bridge.info.session_log_path).name}"
        copy.write_text(reading.result(), encoding="utf-8")
        self.log_copy = copy
        open_with_desktop(str(copy))

    def accepts_commands(self) -> bool:
        return self.ended is None and not self.stopping

    # ----- leaving ----------------------------------------------------------------------------
    def detach(self) -> None:
        """File > Detach: the session goes on; this window closes."""
        self.closing = "detach"
        self.window.close()

    def may_close(self) -> bool:
        """Whether the window may close now; may start stopping the session (it closes once
        stopped) or ask the user first."""
        if self.stopping:
            return self.ended is not None
        if self.ended is not None or self.closing == "detach":
            self.bridge.detach()
            return True
        if self.closing == "stop":
            return self._stop_if_confirmed()
        return self._detach_or_stop()

    def _stop_if_confirmed(self) -> bool:
        pending = self.bridge.unfinished_commands()
        if pending:
            answer = QMessageBox.question(
                self.window, "Commands are still running",
                f"{pending} command(s) have not finished. Quit anyway? They will be "
                "interrupted or cancelled and the servers stopped.")
            if answer != QMessageBox.StandardButton.Yes:
                return False
        self.stop()
        return False

    def _detach_or_stop(self) -> bool:
        info = self.bridge.info
        pending = self.bridge.unfinished_commands()
        box = QMessageBox(QMessageBox.Icon.Question, "Detach or stop the session?",
                          f"Detach from session {info.session_id} on {info.host}, or stop it?", parent=self.window)
        box.setInformativeText("Detached, the session goes on running and you can attach again later. "
                               "Stopping it ends its servers" + (f" and interrupts or cancels the {pending} "
                                                                 "command(s) not finished." if pending else "."))
        detach = box.addButton("Detach", QMessageBox.ButtonRole.AcceptRole)
        stop = box.addButton("Stop session", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(detach)
        box.exec()
        if box.clickedButton() is detach:
            self.bridge.detach()
            return True
        if box.clickedButton() is stop:
            self.stop()
        return False

    def stop(self) -> None:
        """Stop the session (interrupting what runs); the window closes once it has stopped."""
        self.stopping = True
        self.window.centralWidget().setEnabled(False)
        self.window.menuBar().setEnabled(False)
        self.window.statusBar().showMessage("Stopping the servers…")
        self.bridge.when_done(self.bridge.stop_session(), self._stopped)

    def _stopped(self, future: Future) -> None:
        problem = future.exception()
        if problem is not None:
            print(f"mpipanel: {problem}", file=sys.stderr)
        if self.ended is None:
            self.ended = f"stopped{f' ({problem})' if problem else ''}"
        self.bridge.detach()
        self.window.close()
