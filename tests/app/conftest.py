"""Qt fixtures: a real window around real spawned servers, driven with qtbot, offscreen."""
from __future__ import annotations

import os
import tempfile

import pytest

os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="mpipanel-settings-")  # QSettings here


@pytest.fixture(scope="module")
def gui_client():
    from core import MPICommandClient
    client = MPICommandClient(servers=3, print_output=False)
    client.start_services()
    yield client
    client.stop_services(force_command_request_interruption=True)


@pytest.fixture
def window(qtbot, gui_client):
    from app import MainWindow
    win = MainWindow(gui_client, theme="light", owns_client=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
