"""A real X server for tests that need one, and a way to see which windows it shows."""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time

NEEDED = ("Xvfb", "xwininfo")


def missing_programs() -> list[str]:
    return [name for name in NEEDED if shutil.which(name) is None]


@contextlib.contextmanager
def running_xvfb():
    """Start Xvfb on a display number it picks itself; yield (process, DISPLAY value)."""
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-nolisten", "tcp", "-screen", "0", "1280x800x24"],
                              pass_fds=[write], stderr=subprocess.DEVNULL)
    os.close(write)
    try:
        with os.fdopen(read) as displayfd:
            display = f":{displayfd.readline().strip()}"
        yield server, display
    finally:
        server.kill()
        server.wait()


def window_shown(display: str, title: str = "mpipanel") -> bool:
    tree = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True,
                          env={**os.environ, "DISPLAY": display})
    return f'"{title}' in tree.stdout


def wait_until(condition, timeout: float) -> bool:
    """Poll `condition` until it holds (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True
