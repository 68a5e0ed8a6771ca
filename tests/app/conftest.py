"""Qt fixtures: a real window around real spawned servers, driven with qtbot, offscreen."""
from __future__ import annotations

import os
import tempfile

import pytest

from mpi_helpers import started_client

os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="mpipanel-settings-")  # QSettings here


@pytest.fixture(scope="module")
def gui_client():
    with started_client(3) as client:
        yield client


@pytest.fixture
def window(qtbot, gui_client):
    from app import MainWindow
    win = MainWindow(gui_client, theme="light", owns_client=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win


@pytest.fixture(scope="module")
def many_client():
    """Sixteen light servers (isolation 'none'): from this many on, panes open on demand."""
    from core import MPICommandClient
    client = MPICommandClient(servers=16, isolation="none", print_output=False)
    client.start_services()
    yield client
    client.stop_services(force_command_request_interruption=True)


@pytest.fixture
def many_window(qtbot, many_client):
    from app import MainWindow
    win = MainWindow(many_client, owns_client=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
