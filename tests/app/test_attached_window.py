"""Windows attached to a headless session (`python -m core --serve --servers 4`, a real process):
the snapshot on attach, commands sent from the window, detaching while the session goes on,
reattaching to exactly the session log's history, two windows at once, the Detach/Stop question
on closing, and a restart the session cannot do."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import psutil
import pytest
from PySide6.QtWidgets import QMessageBox

from gui_helpers import answer_next_dialog, attached_window, sent, settled, window_history
from mpi_helpers import OPEN_MPI, logged_history, script_file, serving

TIMEOUT = 120

PROGRAM = """
import sys
import core
with core.attach(sys.argv[1]) as client:
    ids = []
    for index in range(12):
        ids += client.push_command_request(f"print('meanwhile', {index}); {index} * 2", target_server=[1 + index % 4])
    responses = client.get_command_response(ids, block=True, timeout=60)
    print(sum(r["successful"] for r in responses), flush=True)
"""


@pytest.fixture(scope="module")
def headless(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("headless")
    with serving(tmp, 4) as served:
        yield (*served, tmp)


def _gone(window) -> bool:
    """The window closed (an attached window is deleted once closed)."""
    from shiboken6 import isValid
    return not isValid(window) or not window.isVisible()


def _finished(qtbot, window, command_id: int) -> dict:
    model = window.history.model_
    qtbot.waitUntil(lambda: model.row_of(command_id) is not None and model.row_of(command_id).response is not None,
                    timeout=TIMEOUT * 1000)
    return model.row_of(command_id).response


def test_a_window_attaches_to_a_headless_session_sees_the_snapshot_sends_commands_and_detaches(qtbot, headless):
    import core
    process, session, _env, _tmp = headless
    with core.attach(session) as program:
        program.push_command_request("print('before the window'); 'printed'", block=True, target_server=2)
        program.push_command_request("import time\nprint('sleeping', flush=True)\ntime.sleep(600)", target_server=1)
        assert program.replica.wait_for(lambda model: model.state_of(1) == "busy", TIMEOUT)
        window = attached_window(qtbot, session)
        assert session in window.windowTitle() and "4 servers" in window.windowTitle()
        link = window.findChild(type(window.message), "linkLabel").text()
        assert link == f"attached to {session} on {window.bridge.info.host} · link up"
        assert window_history(window) == [
            [1, "print('before the window'); 'printed'", 2, "done", program.frontend.label],
            [2, "import time\nprint('sleeping', flush=True)\ntime.sleep(600)", 1, "running", program.frontend.label]]
        assert window.targets.states == {1: "busy", 2: "idle", 3: "idle", 4: "idle"}
        window.open_pane(2)
        lines = [line.text for line in window.panes[2].output.lines]
        assert lines[0] == "before the window" and lines[1].startswith("── #1 done")
        assert "[1] sleeping" in [line.text for line in window.all_pane.output.lines]
        [command_id] = sent(qtbot, window, "'from the window'", [3])
        answer = _finished(qtbot, window, command_id)
        assert answer["ret"] == "from the window" and answer["server"] == 3
        assert window.history.model_.row_of(command_id).origin.startswith("attached:")
        window.bridge.interrupt([2])
        assert _finished(qtbot, window, 2)["status"] == "interrupted"
        window.session.detach_action.trigger()
        qtbot.waitUntil(lambda: _gone(window))
    assert process.poll() is None  # the session goes on


def test_the_session_goes_on_without_a_window_and_a_reattached_one_matches_its_log(qtbot, headless):
    _process, session, env, tmp = headless
    program = script_file(tmp, PROGRAM, "program.py")
    finished = subprocess.run([sys.executable, str(program), session], capture_output=True, text=True, env=env,
                              timeout=TIMEOUT)
    assert finished.stdout.strip() == "12", finished.stderr
    window = attached_window(qtbot, session)
    qtbot.waitUntil(lambda: settled(window), timeout=TIMEOUT * 1000)
    assert window_history(window) == logged_history(window.bridge.info.session_log_path)
    assert sum("] meanwhile " in line.text for line in window.all_pane.output.lines) == 12  # "[2] meanwhile 1"
    window.session.detach_action.trigger()


def test_two_attached_windows_see_the_same_history_in_the_same_order(qtbot, headless):
    _process, session, _env, _tmp = headless
    one, other = attached_window(qtbot, session), attached_window(qtbot, session)
    sent_ids = []
    for index in range(12):
        sent_ids += sent(qtbot, (one, other)[index % 2], f"{index} + 1", [1 + index % 4])
    for window in (one, other):
        _finished(qtbot, window, max(sent_ids))
        qtbot.waitUntil(lambda window=window: settled(window), timeout=TIMEOUT * 1000)
    assert window_history(one) == window_history(other) == logged_history(one.bridge.info.session_log_path)
    assert {row.origin for row in one.history.model_.rows if row.id in sent_ids} == {one.bridge.frontend.label}
    for window in (one, other):
        window.session.detach_action.trigger()


def test_a_large_result_stays_at_the_session_until_its_response_is_shown(qtbot, headless):
    _process, session, _env, _tmp = headless
    window = attached_window(qtbot, session)
    [command_id] = sent(qtbot, window, "bytes(3_000_000)", [4])
    response = _finished(qtbot, window, command_id)
    assert response["ret"] is None and response["ret_dropped"]["reason"] == "link"
    assert window.history.model_.row_of(command_id).status == "done"  # not freed: at the session
    window.history.selectRow(window.history.model_.rows.index(window.history.model_.row_of(command_id)))
    panel = window.panes[4].response
    qtbot.waitUntil(lambda: panel.response is not None and panel.response.get("ret") == bytes(3_000_000),
                    timeout=TIMEOUT * 1000)
    assert panel.result.topLevelItem(0).text(1).startswith("b'\\x00\\x00")
    assert "is at the session" not in panel.heading.text()
    window.session.detach_action.trigger()


def test_an_attached_window_runs_client_code_saves_the_session_and_replays_it(qtbot, headless, tmp_path):
    _process, session, _env, _tmp = headless
    window = attached_window(qtbot, session)
    [printing] = sent(qtbot, window, "print('on rank 0')", [0])
    [on_client] = sent(qtbot, window, "6 * 7", [0])
    assert _finished(qtbot, window, on_client)["ret"] == 42
    assert window.history.model_.row_of(printing).server == 0
    qtbot.waitUntil(lambda: "on rank 0" in [line.text for line in window.client_pane.output.lines])
    [kept] = sent(qtbot, window, "kept = 'kept'; kept", [2])
    _finished(qtbot, window, kept)
    window.save_script(tmp_path / "saved.py", only_successful=True)
    qtbot.waitUntil((tmp_path / "saved.py").exists, timeout=TIMEOUT * 1000)  # written here, by the window
    assert "kept = 'kept'; kept" in (tmp_path / "saved.py").read_text()
    log = tmp_path / "recorded.py"
    log.write_text("client.push_command_request('x = 20', target_server=3, block=True)\n"
                   "client.push_command_request('x + 1', target_server=3, block=True)\n")
    panel = window.open_session(log)
    panel.run_from(0)
    qtbot.waitUntil(lambda: panel.model.text(1, 4) == "21", timeout=TIMEOUT * 1000)
    assert {row.origin for row in window.history.model_.rows[-2:]} == {"replay"}
    window.session.detach_action.trigger()


def test_an_attached_window_sees_progress_and_gets_the_stacks_of_busy_servers(qtbot, headless):
    import core
    _process, session, _env, _tmp = headless
    held = "import time\nprogress(37, 100, 'flagging')\ntime.sleep(600)"  # one call path until interrupted
    window = attached_window(qtbot, session)
    with core.attach(session) as program:
        ids = program.push_command_request(held, target_server=[1, 2, 3, 4], timeout=900)
        rows = window.history.model_
        qtbot.waitUntil(lambda: all(rows.row_of(i) is not None and rows.row_of(i).progress is not None
                                    and rows.row_of(i).status == "running" for i in ids), timeout=TIMEOUT * 1000)
        assert {rows.row_of(i).time_limit for i in ids} == {900}
        qtbot.waitUntil(lambda: window.panes[3].progress.text() == "<b>37/100 flagging</b>", timeout=TIMEOUT * 1000)
        view = window.show_stacks(None)
        qtbot.waitUntil(lambda: view.filled_in is not None, timeout=TIMEOUT * 1000)
        assert [(group.text(0), group.text(1)) for group in map(view.tree.topLevelItem, range(1))] == [
            ("4 servers in <module>", "1-4")]
        assert "4 running a command" in view.summary.text()
        program.interrupt(ids)
        assert {r["status"] for r in program.get_command_response(ids, block=True, timeout=TIMEOUT)} == {"interrupted"}
    window.session.detach_action.trigger()


def test_file_attach_lists_the_running_sessions_and_opens_the_chosen_one_in_a_window_of_its_own(qtbot, headless):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.attach_dialog import AttachDialog
    from app.attaching import choose_and_attach
    from app.main_window import MainWindow
    _process, session, _env, _tmp = headless
    asking = attached_window(qtbot, session)
    listed: list[list[str]] = []

    def choose() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, AttachDialog):
            QTimer.singleShot(20, choose)
            return
        table = dialog.table
        listed.extend([table.item(row, column).text() for column in range(table.columnCount())]
                       for row in range(table.rowCount()))
        dialog.table.selectRow(0)
        dialog.accept()

    opened = []
    QTimer.singleShot(0, choose)
    choose_and_attach(asking, lambda bridge: opened.append(MainWindow(bridge, closing="detach")) or opened[-1])
    assert [row[:2] + row[3:5] for row in listed] == [[session, "serve", asking.bridge.info.host, "4"]]
    qtbot.waitUntil(lambda: bool(opened), timeout=TIMEOUT * 1000)
    assert opened[0] is not asking and opened[0].bridge.info.session_id == session
    with_own = AttachDialog(lambda: [], exclude=session)
    assert with_own.table.rowCount() == 0 and not with_own.attach_button.isEnabled()
    for window in (opened[0], asking):
        window.session.detach_action.trigger()


def test_a_window_whose_link_drops_says_so_and_catches_up_once_it_is_back(qtbot, headless):
    """The session's process is stopped (SIGSTOP) until the link is dead, then let go on."""
    process, session, _env, _tmp = headless
    window = attached_window(qtbot, session)
    link = window.findChild(type(window.message), "linkLabel")
    os.kill(process.pid, signal.SIGSTOP)
    try:
        qtbot.waitUntil(lambda: link.text().startswith("link down: "), timeout=TIMEOUT * 1000)
        assert link.text().endswith(" · reconnecting…")
        window.targets.select([1])
        window.run("'while the link is down'")
        qtbot.waitUntil(lambda: window.message.text().startswith("Not sent: "))
    finally:
        os.kill(process.pid, signal.SIGCONT)
    qtbot.waitUntil(lambda: link.text().endswith(" · link up"), timeout=TIMEOUT * 1000)
    [command_id] = sent(qtbot, window, "'after the link came back'", [1])
    assert _finished(qtbot, window, command_id)["ret"] == "after the link came back"
    qtbot.waitUntil(lambda: settled(window), timeout=TIMEOUT * 1000)
    assert window_history(window) == logged_history(window.bridge.info.session_log_path)
    window.session.detach_action.trigger()


def test_closing_an_attached_window_asks_whether_to_detach_or_stop_the_session(qtbot, tmp_path):
    with serving(tmp_path, 1) as (process, session, _env):
        window = attached_window(qtbot, session)
        asked = answer_next_dialog("Cancel")
        window.close()
        assert window.isVisible() and asked == [f"Detach from session {session} on {window.bridge.info.host}, "
                                                "or stop it?"]
        answer_next_dialog("Stop session")
        window.close()
        qtbot.waitUntil(lambda: process.poll() is not None and _gone(window), timeout=TIMEOUT * 1000)
        assert process.returncode == 0


@pytest.mark.skipif(OPEN_MPI, reason="MPICH's launcher: Open MPI's singleton starts prte, not mpiexec")
def test_a_restart_the_session_cannot_do_says_why_in_full_in_a_dialog(qtbot, tmp_path):
    """A spawned server rank killed: MPICH's launcher ends every rank and itself, and no replacement
    can be spawned; the restart asked for in the window says so, its advice included."""
    with serving(tmp_path, 2) as (process, session, _env):
        window = attached_window(qtbot, session)
        [rank] = [child for child in psutil.Process(process.pid).children(recursive=True)
                  if child.parent().name().startswith("hydra_pmi_proxy")][:1]
        rank.kill()
        qtbot.waitUntil(lambda: set(window.targets.states.values()) == {"lost"}, timeout=TIMEOUT * 1000)
        answer_next_dialog(QMessageBox.StandardButton.Yes)
        window.restart_server(1)
        shown = answer_next_dialog(QMessageBox.StandardButton.Ok)
        qtbot.waitUntil(lambda: bool(shown), timeout=TIMEOUT * 1000)
        assert shown[0].startswith("could not spawn a replacement for server 1: MPICH's launcher (mpiexec, pid ")
        assert shown[0].endswith("save the session and start a new one")
        assert process.poll() is None  # the session stays, with what it received
        answer_next_dialog("Stop session")
        window.close()
        qtbot.waitUntil(lambda: process.poll() is not None and _gone(window), timeout=TIMEOUT * 1000)
