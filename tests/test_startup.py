"""Every way of starting either works or says why, fast, in both launch modes, leaving nothing behind.

Each row used to hang until killed; the bound is generous for a loaded 2-core machine.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from mpi_helpers import REPO, mpiexec_command, script_file, wait_for_no_servers
from xvfb_display import wait_until, window_shown

BOUND = 30.0
"""Seconds a failing start may take on a loaded machine; it used to take forever."""

NO_LAUNCHER_PATH = "/usr/bin:/bin"
"""A PATH with no mpiexec on it, as a desktop menu or an un-activated venv gives."""

FORGETS_TO_STOP = """
from core import MPICommandClient
client = MPICommandClient(session_log=False)
client.start_services()
client.push_command_request("1", block=True)
"""


def _start(mode: str, *args: str, env: dict | None = None) -> tuple[subprocess.CompletedProcess, float]:
    """Run `python *args` plainly ('spawn') or as `mpiexec -n 3` ('mpiexec'); (result, seconds)."""
    command = [*mpiexec_command(3), *args] if mode == "mpiexec" else [sys.executable, *args]
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(REPO), "MPIPANEL_SERVERS": "2", **(env or {})})
    return result, time.monotonic() - started


def _assert_ends(result: subprocess.CompletedProcess, seconds: float, code: int, message: str) -> None:
    assert (result.returncode, message in result.stderr) == (code, True), result.stdout + result.stderr
    assert code != 2 or "usage:" in result.stderr
    assert seconds < BOUND
    assert wait_for_no_servers()


@pytest.mark.parametrize("mode", ["spawn", "mpiexec"])
@pytest.mark.parametrize("args, code, message", [
    (["--unknown-option", "script.py"], 2, "error: unknown option --unknown-option"),
    (["nosuchfile.py"], 2, "error: no such file: nosuchfile.py"),
    (["-m", "no_such_module"], 2, "error: no module named no_such_module"),
    (["-c", "raise RuntimeError('before any client')"], 1, "RuntimeError: before any client"),
    (["-c", "import sys; sys.exit(7)"], 7, ""),
    (["-c", "raise SystemExit('goodbye')"], 1, "goodbye"),
])
def test_launcher_fails_fast_before_any_client(mode, args, code, message):
    _assert_ends(*_start(mode, "-m", "core", *args), code, message)


@pytest.mark.parametrize("mode", ["spawn", "mpiexec"])
@pytest.mark.parametrize("ending, code", [("", 0), ("import sys; sys.exit(4)", 4),
                                          ("raise KeyError('after the client')", 1)])
def test_a_client_left_running_is_stopped_and_the_status_kept(tmp_path, mode, ending, code):
    script = script_file(tmp_path, FORGETS_TO_STOP + ending + "\n")
    _assert_ends(*_start(mode, "-m", "core", str(script)), code, "")


def test_plain_script_without_the_launcher_on_path_finds_the_environments_own(tmp_path):
    script = script_file(tmp_path, FORGETS_TO_STOP + "print('served')\n")
    result, seconds = _start("spawn", str(script), env={"PATH": NO_LAUNCHER_PATH})
    _assert_ends(result, seconds, 0, "")
    assert "served" in result.stdout


WITHOUT_ANY_LAUNCHER = """
import os, runpy, sys
import core  # puts the environment's launcher on PATH: take it away again, as if there were none
os.environ["PATH"] = {path!r}
sys.argv[:] = sys.argv[1:]
runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
"""


@pytest.mark.parametrize("program", [["core", "-c", "from core import MPICommandClient; "
                                      "MPICommandClient().start_services()"], ["app"]])
def test_no_launcher_anywhere_says_what_to_install(tmp_path, program):
    wrapper = script_file(tmp_path, WITHOUT_ANY_LAUNCHER.format(path=NO_LAUNCHER_PATH), "no_launcher.py")
    result, seconds = _start("spawn", str(wrapper), *program,
                             env={"MPIPANEL_STATE_DIR": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"})
    _assert_ends(result, seconds, 1, "no MPI launcher (mpiexec) was found")
    assert "-m pip install mpich" in result.stderr


def test_window_under_mpiexec_with_a_bad_option_exits_on_every_rank():
    _assert_ends(*_start("mpiexec", "-m", "app", "--unknown-option"), 2,
                 "unrecognized arguments: --unknown-option")


def test_window_that_cannot_start_says_why_in_a_dialog(tmp_path, xvfb):
    _, display = xvfb
    wrapper = script_file(tmp_path, WITHOUT_ANY_LAUNCHER.format(path=NO_LAUNCHER_PATH), "no_launcher.py")
    app = subprocess.Popen([sys.executable, str(wrapper), "app"], stderr=subprocess.PIPE, text=True,
                           env={**os.environ, "PYTHONPATH": str(REPO), "DISPLAY": display,
                                "QT_QPA_PLATFORM": "xcb", "MPIPANEL_STATE_DIR": str(tmp_path)})
    try:
        assert wait_until(lambda: window_shown(display, "mpipanel could not start its servers")
                          or app.poll() is not None, BOUND), "no dialog"
        assert app.poll() is None  # waiting for the user to read it
    finally:
        app.terminate()
        _, stderr = app.communicate(timeout=30)
    assert "mpipanel: no MPI launcher (mpiexec) was found" in stderr
    assert wait_for_no_servers()
