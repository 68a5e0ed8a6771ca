"""Qt fixtures: a real window on a real session of spawned servers, driven with qtbot, offscreen."""
from __future__ import annotations

import os
import tempfile

import pytest

from gui_helpers import window_on
from mpi_helpers import started_client

os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="mpipanel-settings-")  # QSettings here


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item):
    """After pytest-qt has closed a test's windows and asked for their deletion, delete them now,
    as an event loop would: a window that lingers keeps its frontend, and Python's automatic
    garbage collection stays off while a window exists (`app.gui_thread_collector`)."""
    yield
    from PySide6.QtCore import QCoreApplication, QEvent
    if QCoreApplication.instance() is not None:
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QCoreApplication.processEvents()  # where Python's own collection is turned on again


UNANSWERED_DIALOG_S = 30


@pytest.fixture(autouse=True)
def unanswered_dialogs_fail_the_test(qapp):
    """A modal dialog that no test answers (`answer_next_dialog`) would wait offscreen for ever, and
    the suite with it: close one left open for `UNANSWERED_DIALOG_S` and fail the test, naming it."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    left_open: list[str] = []
    seen: dict[int, int] = {}

    def check() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            seen.clear()
            return
        seen[id(dialog)] = seen.get(id(dialog), 0) + 1
        if seen[id(dialog)] >= UNANSWERED_DIALOG_S:
            text = getattr(dialog, "text", lambda: "")()
            left_open.append(f"{dialog.windowTitle()!r}: {text}")
            dialog.reject()

    watchdog = QTimer(interval=1000, timeout=check)
    watchdog.start()
    yield
    watchdog.stop()
    assert not left_open, f"a modal dialog nobody answered was open for {UNANSWERED_DIALOG_S} s: {left_open}"


@pytest.fixture(scope="module")
def gui_client():
    with started_client(3) as client:
        yield client


@pytest.fixture(scope="module")
def gui_session(gui_client):
    """The session of `gui_client`, which every window of a test module looks at in turn."""
    from core.frontends.host import SessionHost
    host = SessionHost(gui_client)
    yield host
    host.close()


@pytest.fixture
def window(qtbot, gui_session):
    yield window_on(qtbot, gui_session)


@pytest.fixture(scope="module")
def many_session():
    """Sixteen light servers (isolation 'none') and their session: from this many on, panes open
    on demand."""
    from core import MPICommandClient
    from core.frontends.host import SessionHost
    client = MPICommandClient(servers=16, isolation="none", print_output=False)
    client.start_services()
    host = SessionHost(client)
    yield host
    host.close()
    client.stop_services(force_command_request_interruption=True)


@pytest.fixture
def many_window(qtbot, many_session):
    yield window_on(qtbot, many_session)
