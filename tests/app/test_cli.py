"""`mpipanel` on the command line: help, version, bad arguments, and the window under mpiexec."""
from __future__ import annotations

import os

from mpi_helpers import REPO, private_runtime_dir, run_mpiexec, run_python, run_rank_loss_script, script_file


def test_help_lists_every_option_and_both_launch_modes():
    result = run_python("-m", "app", "--help")
    assert result.returncode == 0
    for text in ("--servers", "--isolation", "--log-mode", "--server-nice", "--preload", "--result-memory", "--theme",
                 "--session", "--attach",
                 "--version",
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
    result = run_python("-m", "app", "--server-nice", "25")
    assert result.returncode == 2 and "--server-nice: must be from 0 to 19" in result.stderr
    result = run_python("-m", "app", "--result-memory", "1.5")
    assert result.returncode == 2 and "'1.5' is not a whole number" in result.stderr
    result = run_python("-m", "app", "--preload", "import os\nx = = 1")
    assert result.returncode == 2 and "--preload: preload has a syntax error at line 2" in result.stderr


def test_a_bad_session_file_is_refused_in_one_line_before_the_servers_start(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"event": "session"}\n{"event": "queued", "id": 1}\n')
    result = run_python("-m", "app", "--session", str(bad), env={"QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"mpipanel: error: --session: {bad}, line 2: the 'queued' line has no 'push'"]


GUI_UNDER_MPIEXEC = """
    import os
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtWidgets import QApplication
    from core import MPICommandClient
    from app.bridge import own_session
    from app.main_window import MainWindow
    app = QApplication([])
    client = MPICommandClient(print_output=False)
    client.start_services()
    session = own_session(client)
    window = MainWindow(session, closing="detach")
    window.show()
    window.targets.select([2])
    [command_id] = window.run("40 + 2")
    while not window.history.model_.row_of(command_id) or not window.history.model_.row_of(command_id).response:
        app.processEvents()
    row = window.history.model_.row_of(command_id)
    print("result:", row.response["ret"], "server:", row.server)
    print("status bar:", window.statusBar().currentMessage())
    window.close()
    window.deleteLater()
    app.processEvents()
    session.frontend.host.close()
    client.stop_services()
"""


def test_window_runs_as_rank_0_of_an_mpiexec_job(tmp_path):
    script = script_file(tmp_path, GUI_UNDER_MPIEXEC, "gui.py")
    result = run_mpiexec(3, "-m", "core", str(script), timeout=120)
    assert result.returncode == 0, result.stderr
    assert "result: 42 server: 2" in result.stdout
    assert "2 servers" in result.stdout and "launch mode: mpiexec" in result.stdout


LOST_SERVER_IN_THE_WINDOW = """
    import os
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtWidgets import QApplication
    from core import MPICommandClient
    from app.bridge import own_session
    from app.main_window import MainWindow
    app = QApplication([])
    client = MPICommandClient(isolation="none", print_output=False, session_log=False)
    client.start_services()
    session = own_session(client)
    window = MainWindow(session, closing="detach")
    window.show()
    window.targets.select([2])
    [dying] = window.run("import os; os._exit(3)")
    while window.targets.states.get(2) != "lost":
        app.processEvents()
    print("state:", window.targets.states[2], "history:", window.history.model_.row_of(dying).status)
    print("refused:", window.run("1") == [], window.message.text())
    window.targets.select([1])
    [alive] = window.run("'still here'")
    while not (window.history.model_.row_of(alive) and window.history.model_.row_of(alive).response):
        app.processEvents()
    print("other:", window.history.model_.row_of(alive).response["ret"])
    window.close()
    window.deleteLater()
    app.processEvents()
    session.frontend.host.close()
    client.stop_services()
"""


def test_a_lost_server_shows_as_lost_and_cannot_be_targeted(tmp_path):
    result = run_rank_loss_script(tmp_path, LOST_SERVER_IN_THE_WINDOW, "lost_gui.py")
    assert "state: lost history: lost" in result.stdout, result.stdout + result.stderr
    assert "refused: True Not sent: server 2 is lost and cannot take commands" in result.stdout
    assert "other: still here" in result.stdout


def test_result_memory_is_given_in_mib_or_none():
    from app.__main__ import parse_args
    assert parse_args(["--result-memory", "64"]).result_memory == 64 * 1024 * 1024
    assert parse_args(["--result-memory", "none"]).result_memory is None
    assert parse_args([]).result_memory == 256 * 1024 * 1024


def test_attach_says_why_when_there_is_no_session_to_attach_to():
    with private_runtime_dir() as runtime:
        env = {"XDG_RUNTIME_DIR": str(runtime), "QT_QPA_PLATFORM": "offscreen"}
        nothing = run_python("-m", "app", "--attach", env=env)
        named = run_python("-m", "app", "--attach", "3f2a9c1e", env=env)
    assert nothing.returncode == 2 and "mpipanel: cannot attach: no session is running" in nothing.stderr
    assert named.returncode == 2 and "mpipanel: cannot attach: no session '3f2a9c1e'" in named.stderr


def test_mpipanels_own_session_can_be_attached_to_and_stopped_from_elsewhere(tmp_path):
    """The window's session listens: a program attaches to it, runs a command there and stops it;
    the window then says so, and quits without asking."""
    import signal
    import subprocess
    import sys
    import time

    import core
    from core.frontends import connection_files
    with private_runtime_dir() as runtime:
        env = {**os.environ, "PYTHONPATH": str(REPO), "XDG_RUNTIME_DIR": str(runtime), "QT_QPA_PLATFORM": "offscreen",
               "MPIPANEL_STATE_DIR": str(tmp_path)}
        window = subprocess.Popen([sys.executable, "-m", "app", "--servers", "1"], env=env, text=True,
                                  stderr=subprocess.PIPE, start_new_session=True)
        try:
            deadline = time.monotonic() + 120
            while not connection_files.sessions()[0] and window.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)  # polling for the session's connection file, which has no signal to wait on
            [entry] = connection_files.sessions()[0]
            assert entry.kind == "window" and entry.pid == window.pid
            with core.attach(entry.session) as program:
                [answer] = program.push_command_request("6 * 7", block=True, target_server=1)
                assert answer["ret"] == 42
                program.stop_services()
            window.send_signal(signal.SIGINT)  # Ctrl+C closes the window as File > Quit does
            assert window.wait(60) == 0, window.stderr.read()
        finally:
            if window.poll() is None:
                window.kill()
        assert connection_files.sessions() == ([], [])
