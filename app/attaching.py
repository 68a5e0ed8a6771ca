"""Opening a window on a session that runs elsewhere: `mpipanel --attach [SESSION]`, File > Attach….

A window attaches in a window of its own, whatever window asked: the asking window's session (its
own, which ends with it, or another it is attached to) is not one the user chose to leave. The new
window shows once the session's snapshot has come (a frontend behind a link learns only then which
session it is, how many servers it has); if the session cannot be reached, or ends before that,
a message says why and no window opens. Windows opened here are kept until they close.
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMainWindow, QMessageBox, QWidget

from .attach_dialog import AttachDialog
from .bridge import AttachError, SessionBridge, attach, running_sessions

WindowMaker = Callable[[SessionBridge], QMainWindow]
"""Makes the window of an attached session's bridge (the caller says which window, and how it looks)."""

_open: set[QMainWindow] = set()
"""Windows opened on attached sessions, alive until they close (Qt does not keep a Python reference)."""
_pending: set[SessionBridge] = set()
"""Bridges waiting for their session's snapshot."""


def open_attached(target, make_window: WindowMaker, parent: QWidget | None = None,
                  on_failure: Callable[[str], None] | None = None,
                  remote_python: str | None = None) -> SessionBridge | None:
    """Attach to `target` (see `app.bridge.attach`) and open its window once the snapshot has come;
    None, after saying why (`on_failure`, by default a message box), when it names no session.
    The link opens on a thread of its own (ssh may take seconds): when the session cannot be
    reached, `on_failure` hears why later, on the GUI thread, and no window opens."""
    failed = on_failure or (lambda reason: QMessageBox.warning(parent, "Cannot attach", reason))
    try:
        bridge = attach(target, remote_python)
    except AttachError as exc:
        failed(str(exc))
        return None
    _pending.add(bridge)

    def unreachable(opening) -> None:
        if opening.exception() is not None and bridge in _pending:
            _pending.discard(bridge)
            failed(str(opening.exception()))

    def show() -> None:
        _pending.discard(bridge)
        window = make_window(bridge)
        window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        _open.add(window)
        window.destroyed.connect(lambda: _open.discard(window))
        window.show()

    def watch(state: str) -> None:
        if bridge in _pending and state.startswith("ended"):
            _pending.discard(bridge)
            bridge.detach()
            failed(f"the session ended before it could be shown: {state[len('ended: '):]}")

    bridge.snapshotLoaded.connect(show, Qt.ConnectionType.SingleShotConnection)
    bridge.linkState.connect(watch)
    bridge.when_done(bridge.open_in_background(), unreachable)
    return bridge


def choose_and_attach(parent: QWidget, make_window: WindowMaker, exclude: str | None = None) -> None:
    """File > Attach…: list this user's sessions (or take a host to reach over ssh), attach to the
    one chosen in a window of its own."""
    dialog = AttachDialog(running_sessions, exclude, parent)
    if dialog.exec() == AttachDialog.DialogCode.Accepted and dialog.chosen() is not None:
        open_attached(dialog.chosen(), make_window, parent, remote_python=dialog.remote_python())
