"""The window's display goes away (ssh -X dropped, Xvfb stopped): the servers stop, mpipanel quits."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from mpi_helpers import REPO, wait_for_no_servers
from xvfb_display import wait_until, window_shown


def test_losing_the_display_stops_the_servers_and_quits_with_one_line(xvfb, tmp_path):
    server, display = xvfb
    env = {**os.environ, "PYTHONPATH": str(REPO), "DISPLAY": display, "QT_QPA_PLATFORM": "xcb",
           "MPIPANEL_SERVERS": "2", "MPIPANEL_STATE_DIR": str(tmp_path)}
    app = subprocess.Popen([sys.executable, "-m", "app"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert wait_until(lambda: window_shown(display) or app.poll() is not None, 90), "no window"
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
