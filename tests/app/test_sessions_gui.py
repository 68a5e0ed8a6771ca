"""Sessions in the window: where the log is, saving a script, and stepping through a replay."""
from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from core import MPICommandClient
from gui_helpers import answer_next_dialog, response


def test_status_bar_and_about_box_show_the_session_log(qtbot, window):
    from app.about import about_text
    path = Path(window.bridge.info.session_log_path)
    label = window.findChild(type(window.message), "sessionLogLabel")
    assert label.text() == f"session log: {path.name}" and label.toolTip() == str(path)
    assert str(path) in about_text(window.bridge.info)


def test_save_session_dialog_options_reach_the_script(qtbot, window, tmp_path):
    from app.save_session_dialog import SaveSessionDialog
    [ok] = window.run("'kept'")
    [bad] = window.run("1 / 0")
    response(qtbot, window, ok)
    response(qtbot, window, bad)
    dialog = SaveSessionDialog(window)
    dialog.only_successful.setChecked(True)
    assert not dialog.include_interrupted.isEnabled()
    window.save_script(tmp_path / "ok.py", **dialog.options())
    qtbot.waitUntil((tmp_path / "ok.py").exists)
    text = (tmp_path / "ok.py").read_text()
    assert "'kept'" in text and "1 / 0" not in text


def test_saving_a_parameter_without_literal_form_says_which(qtbot, window, gui_client, tmp_path):
    gui_client.push_command_request("x", block=True, parameters={"x": float("nan")})
    shown = answer_next_dialog(QMessageBox.StandardButton.Ok)
    window.save_script(tmp_path / "nan.py")
    qtbot.waitUntil(lambda: bool(shown))
    assert "parameter 'x'" in shown[0] and "no literal form" in shown[0]
    assert not (tmp_path / "nan.py").exists()


def test_replay_panel_steps_runs_and_marks_differences(qtbot, window, tmp_path):
    log = tmp_path / "recorded.jsonl"
    with MPICommandClient(servers=2, print_output=False, session_log=log) as recorder:
        recorder.push_command_request("counter = 10", block=True, target_server=1)
        recorder.push_command_request("counter + 1", block=True, target_server=1)
        recorder.push_command_request("__import__('random').random()", block=True, target_server=2)
        recorder.push_command_request("counter * 2", target_server=1)
    panel = window.open_session(log)
    assert window.pane_tabs.currentWidget() is panel and panel.model.rowCount() == 4
    assert panel.model.text(1, 3) == "11"
    panel.step()
    qtbot.waitUntil(lambda: panel.model.text(0, 5) == "matches", timeout=20000)
    panel.run_from(panel.next_index)
    qtbot.waitUntil(lambda: all(panel.model.text(r, 5) for r in range(4)), timeout=20000)
    verdicts = [panel.model.text(r, 5) for r in range(4)]
    assert verdicts == ["matches", "matches", "differs", "matches"]
    assert panel.model.text(3, 4) == "20"
    assert "4 commands · 3 match · 1 differ" in panel.summary.text()
    panel.table.selectRow(1)
    panel.from_here_button.click()
    qtbot.waitUntil(lambda: panel.next_index == 4 and panel.replay.comparisons(3) is not None, timeout=20000)


def test_session_needing_more_servers_is_refused_with_a_message(qtbot, window, tmp_path):
    script = tmp_path / "big.py"
    script.write_text("SERVERS = 8\nclient.push_command_request('1', target_server=7)\n")
    shown = answer_next_dialog(QMessageBox.StandardButton.Ok)
    assert window.open_session(script) is None
    assert "targets server 7, but this session has 3 server(s): [1, 2, 3]" in shown[0]


def test_a_malformed_session_file_is_refused_in_a_dialog_naming_the_line(qtbot, window, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"event": "session", "servers": [1]}\n[1, 2]\n')
    shown = answer_next_dialog(QMessageBox.StandardButton.Ok)
    assert window.open_session(bad) is None
    assert shown == [f"{bad}, line 2: a JSON object was expected, not a list"]


HIDDEN = "x = 1\nimport os\nos.environ['SEEN'] = 'yes'"


def test_a_multi_line_command_is_marked_and_shown_whole_on_selection(qtbot, window, tmp_path):
    script = tmp_path / "hidden.py"
    script.write_text(f"client.push_command_request({HIDDEN!r}, target_server=1)\n"
                      f"client.push_command_request('x', target_server=1)\n")
    panel = window.open_session(script)
    assert [panel.model.text(row, 1) for row in (0, 1)] == ["x = 1  ⏎ +2 lines", "x"]
    assert panel.detail.toPlainText() == ""
    panel.table.selectRow(0)
    assert panel.detail.toPlainText() == HIDDEN
    assert panel.model.data(panel.model.index(0, 1), 3) == HIDDEN  # the tooltip, one hover away


def test_a_session_file_of_another_user_asks_before_it_runs(qtbot, window, tmp_path):
    if os.getuid() != 0:
        pytest.skip("giving a file to another user needs root")
    script = tmp_path / "theirs.py"
    script.write_text("client.push_command_request('40 + 2', block=True, target_server=1)\n")
    os.chown(script, pwd.getpwnam("nobody").pw_uid, -1)
    panel = window.open_session(script)
    asked = answer_next_dialog(QMessageBox.StandardButton.No)
    panel.step()
    assert "belongs to user nobody" in asked[0] and panel.next_index == 0
    asked = answer_next_dialog(QMessageBox.StandardButton.Yes)
    panel.run_from(0)
    qtbot.waitUntil(lambda: panel.model.text(0, 4) == "42", timeout=20000)
