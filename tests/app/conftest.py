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
