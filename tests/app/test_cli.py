"""`mpipanel` on the command line: help, version, bad arguments, and the window under mpiexec."""
from __future__ import annotations

import textwrap

from mpi_helpers import run_mpiexec, run_python


def test_help_lists_every_option_and_both_launch_modes():
    result = run_python("-m", "app", "--help")
    assert result.returncode == 0
    for text in ("--servers", "--isolation", "--log-mode", "--theme", "--session", "--version",
                 "mpiexec -n N mpipanel"):
        assert text in result.stdout


def test_version_is_the_package_version():
    import core
    result = run_python("-m", "app", "--version")
    assert result.returncode == 0 and result.stdout.strip() == f"mpipanel {core.__version__}"


def test_bad_arguments_are_explained():
    result = run_python("-m", "app", "--servers", "zero")
    assert result.returncode == 2 and "'zero' is not a whole number" in result.stderr
    result = run_python("-m", "app", "--isolation", "thread")
    assert result.returncode == 2 and "invalid choice: 'thread'" in result.stderr


GUI_UNDER_MPIEXEC = """
    import os
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtWidgets import QApplication
    from core import MPICommandClient
    from app.main_window import MainWindow
    app = QApplication([])
    client = MPICommandClient(print_output=False)
    client.start_services()
    window = MainWindow(client, owns_client=False)
    window.show()
    window.targets.select([2])
    [command_id] = window.run("40 + 2")
    while not window.history.model_.row_of(command_id) or not window.history.model_.row_of(command_id).response:
        app.processEvents()
    row = window.history.model_.row_of(command_id)
    print("result:", row.response["ret"], "server:", row.server)
    print("status bar:", window.statusBar().currentMessage())
    window.detach()
    window.deleteLater()
    app.processEvents()
    client.stop_services()
"""


def test_window_runs_as_rank_0_of_an_mpiexec_job(tmp_path):
    script = tmp_path / "gui.py"
    script.write_text(textwrap.dedent(GUI_UNDER_MPIEXEC))
    result = run_mpiexec(3, "-m", "core", str(script), timeout=120)
    assert result.returncode == 0, result.stderr
    assert "result: 42 server: 2" in result.stdout
    assert "2 servers" in result.stdout and "launch mode: mpiexec" in result.stdout
