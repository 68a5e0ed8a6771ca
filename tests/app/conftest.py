"""Qt fixtures: a real window on a real session of spawned servers, driven with qtbot, offscreen."""
from __future__ import annotations

import os
import tempfile

import pytest

from gui_helpers import window_on
from mpi_helpers import started_client

os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="mpipanel-settings-")  # QSettings here


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
