"""The window's display goes away (ssh -X dropped, Xvfb stopped): the servers stop, mpipanel quits."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from mpi_helpers import REPO, wait_for_no_servers


def _wait(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.fixture
def xvfb():
    """A real X server on a free display number, and the DISPLAY to reach it."""
    if shutil.which("Xvfb") is None or shutil.which("xwininfo") is None:
        pytest.skip("Xvfb and xwininfo are needed (Debian: apt-get install xvfb x11-utils)")
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-nolisten", "tcp", "-screen", "0", "1280x800x24"],
                              pass_fds=[write], stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as displayfd:
        display = f":{displayfd.readline().strip()}"
    yield server, display
    server.kill()
    server.wait()


def _window_shown(display: str) -> bool:
    tree = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True,
                          env={**os.environ, "DISPLAY": display})
    return '"mpipanel' in tree.stdout


def test_losing_the_display_stops_the_servers_and_quits_with_one_line(xvfb, tmp_path):
    server, display = xvfb
    env = {**os.environ, "PYTHONPATH": str(REPO), "DISPLAY": display, "QT_QPA_PLATFORM": "xcb",
           "MPIPANEL_SERVERS": "2", "MPIPANEL_STATE_DIR": str(tmp_path)}
    app = subprocess.Popen([sys.executable, "-m", "app"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert _wait(lambda: _window_shown(display) or app.poll() is not None, 90), "no window"
        assert app.poll() is None, app.communicate()
        server.kill()
        started = time.monotonic()
        _, stderr = app.communicate(timeout=60)
    finally:
        if app.poll() is None:
            app.kill()
    assert time.monotonic() - started < 20
    assert app.returncode == 1, stderr
    assert "mpipanel: the display went away; stopping the servers and quitting" in stderr
    assert "Traceback" not in stderr and "Task was destroyed" not in stderr
    assert wait_for_no_servers()
    [log] = (tmp_path / "sessions").glob("*.jsonl")
    assert json.loads(log.read_text().splitlines()[0])["servers"] == [1, 2]  # written and closed
