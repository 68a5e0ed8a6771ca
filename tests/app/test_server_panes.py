"""What the panes show: live output, results, tracebacks, floods kept bounded, and control."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMessageBox, QPushButton

from benchmarks.gui import StallMeter
from core.events import CLIENT_RANK
from gui_helpers import answer_next_dialog, response


def _send(window, command: str, target=None) -> int:
    window.targets.select(target)
    ids = window.run(command)
    assert ids, window.message.text()
    return ids[0]


def test_output_and_log_records_stream_into_the_servers_pane_coloured_by_kind(qtbot, window):
    command_id = _send(window, "import logging, sys\nprint('to stdout')\nprint('to stderr', file=sys.stderr)\n"
                               "logging.getLogger('demo').warning('careful')", target=3)
    response(qtbot, window, command_id)
    pane = window.panes[3]
    qtbot.waitUntil(lambda: any(f"#{command_id}" in line.text for line in pane.output.lines))
    kinds = {line.text: line.kind for line in pane.output.lines}
    assert kinds["to stdout"] == "stdout" and kinds["to stderr"] == "stderr"
    assert kinds["WARNING demo: careful"] == "WARNING"
    texts = [line.text for line in pane.output.lines]
    assert texts.index("to stdout") < next(i for i, t in enumerate(texts) if f"#{command_id}" in t)
    merged = [line.text for line in window.all_pane.output.lines]
    assert "[3] to stdout" in merged and "[3] WARNING demo: careful" in merged


def test_failed_command_shows_its_traceback_collapsed_to_the_last_frame(qtbot, window):
    command_id = _send(window, "def inner():\n    return 1 / 0\ndef outer():\n    return inner()\nouter()", target=1)
    assert response(qtbot, window, command_id)["status"] == "failed"
    panel = window.panes[1].response
    qtbot.waitUntil(lambda: panel.response is not None and panel.response["id"] == command_id)
    assert panel.stack.currentWidget() is panel.traceback
    shown = panel.traceback.text.toPlainText()
    assert "in inner" in shown and "in outer" not in shown and shown.endswith("ZeroDivisionError: division by zero")
    assert "2 earlier frames" in panel.traceback.toggle.text()
    panel.traceback.toggle.click()
    full = panel.traceback.text.toPlainText()
    assert "in outer" in full and "in inner" in full


def test_selecting_a_history_row_shows_that_response(qtbot, window):
    first = _send(window, "'first result'", target=2)
    second = _send(window, "'second result'", target=2)
    response(qtbot, window, second)
    row = next(i for i, r in enumerate(window.history.model_.rows) if r.id == first)
    window.history.selectRow(row)
    panel = window.panes[2].response
    assert panel.response["id"] == first and panel.result.topLevelItem(0).text(1) == "'first result'"


def test_rerun_from_the_history_sends_the_same_command_to_the_same_target(qtbot, window):
    window.parameters.add_row("n", "5")
    original = _send(window, "n * 2", target=2)
    assert response(qtbot, window, original)["ret"] == 10
    window.parameters.set_parameters({})
    window.rerun(window.history.model_.row_of(original))
    [again] = window.last_sent
    result = response(qtbot, window, again)
    assert (result["ret"], result["server"], result["parameters"]) == (10, 2, {"n": 5})


def test_rerun_of_a_command_whose_array_parameter_was_let_go_is_refused_saying_why(qtbot, window, gui_client):
    import numpy as np
    [sent] = gui_client.push_command_request("data.shape", block=True, target_server=2,
                                             parameters={"data": np.zeros(100_000)})
    qtbot.waitUntil(lambda: window.history.model_.row_of(sent["id"]) is not None)
    window.rerun(window.history.model_.row_of(sent["id"]))
    assert window.last_sent == []
    assert window.message.text() == (
        "Not sent: parameter 'data' was <numpy.ndarray shape=[100000] dtype=float64 size=100000: sent, not kept>: "
        "the client lets go of a large array once it is sent, so send that command again from code that has "
        "the array")


@pytest.mark.parametrize("target", [1, CLIENT_RANK], ids=["server", "client-side worker"])
def test_log_flood_stays_bounded_and_says_how_much_was_dropped(qtbot, window, target):
    from app.output_view import MAX_LINES
    meter = StallMeter()
    meter.start()
    command_id = _send(window, "for i in range(60_000): print('flood line', i)", target=target)
    assert response(qtbot, window, command_id, timeout=60000)["status"] == "done"
    meter.stop()
    assert meter.longest_ms < 1000  # the window kept answering (the GUI bench measures it finely)
    pane = window.client_pane if target == CLIENT_RANK else window.panes[target]
    qtbot.waitUntil(lambda: any(f"#{command_id}" in line.text for line in pane.output.lines), timeout=20000)
    assert len(pane.output.lines) <= MAX_LINES
    assert len(pane.output.shown_lines) <= MAX_LINES
    assert pane.output.dropped >= 60_000 - MAX_LINES
    assert "lines dropped" in pane.dropped.text()
    assert pane.output.lines[-2].text == "flood line 59999"


def test_interrupt_button_stops_the_command_running_on_that_server(qtbot, window):
    command_id = _send(window, "import time\nprint('looping', flush=True)\nwhile True:\n    time.sleep(0.01)", target=3)
    pane = window.panes[3]
    qtbot.waitUntil(lambda: any(line.text == "looping" for line in pane.output.lines), timeout=20000)
    qtbot.waitUntil(lambda: window.targets.states[3] == "busy")
    pane.findChild(QPushButton, "interruptButton").click()
    assert response(qtbot, window, command_id)["status"] == "interrupted"
    qtbot.waitUntil(lambda: window.targets.states[3] == "idle")
    assert window.history.model_.row_of(command_id).status == "interrupted"


def test_restart_button_gives_the_server_a_fresh_namespace(qtbot, window):
    response(qtbot, window, _send(window, "kept = 1", target=2))
    answer_next_dialog(QMessageBox.StandardButton.Yes)
    window.panes[2].findChild(QPushButton, "restartButton").click()
    qtbot.waitUntil(lambda: "namespace is lost" in "\n".join(line.text for line in window.panes[2].output.lines),
                    timeout=20000)
    result = response(qtbot, window, _send(window, "'kept' in globals()", target=2))
    assert result["ret"] is False and result["namespace_reset"] is True


def test_busy_server_shows_as_busy_in_the_targets_and_overview(qtbot, window):
    command_id = _send(window, "import time; print('working', flush=True); time.sleep(1)", target=1)
    qtbot.waitUntil(lambda: window.targets.states[1] == "busy", timeout=20000)
    assert window.overview.items[1].text(1) in ("busy", "idle")  # refreshed on the next event
    response(qtbot, window, command_id)
    qtbot.waitUntil(lambda: window.targets.states[1] == "idle")
    assert "idle" in window.statusBar().currentMessage()


def test_a_crashed_worker_is_reported_in_the_pane_and_the_next_response_says_reset(qtbot, window):
    response(qtbot, window, _send(window, "keep = 1", target=3))
    crashed = response(qtbot, window, _send(window, "import ctypes; ctypes.string_at(0)", target=3))
    assert crashed["status"] == "failed" and "SIGSEGV" in crashed["traceback"]
    pane = window.panes[3]
    qtbot.waitUntil(lambda: any(line.kind == "ERROR" and "killed by signal SIGSEGV" in line.text
                                for line in pane.output.lines))
    after = response(qtbot, window, _send(window, "'keep' in globals()", target=3))
    assert after["ret"] is False
    qtbot.waitUntil(lambda: pane.response.response["id"] == after["id"])
    assert "namespace was reset" in pane.response.heading.text()


def _history_menu(window, command_id: int, action: str) -> None:
    from gui_helpers import choose_from_next_menu
    row = next(i for i, r in enumerate(window.history.model_.rows) if r.id == command_id)
    position = window.history.visualRect(window.history.model_.index(row, 1)).center()
    choose_from_next_menu(action)
    window.history.customContextMenuRequested.emit(position)


def test_history_menu_cancels_a_queued_command_and_interrupts_a_running_one(qtbot, window):
    sleeper = _send(window, "import time\nprint('sleeping', flush=True)\ntime.sleep(60)", target=1)
    queued = _send(window, "'never runs'", target=1)
    qtbot.waitUntil(lambda: any(line.text == "sleeping" for line in window.panes[1].output.lines), timeout=20000)
    qtbot.waitUntil(lambda: window.history.model_.row_of(queued) is not None)
    _history_menu(window, queued, "Cancel")
    assert response(qtbot, window, queued)["status"] == "cancelled"
    _history_menu(window, sleeper, "Interrupt")
    assert response(qtbot, window, sleeper)["status"] == "interrupted"


def test_history_menu_copies_the_command_and_its_result(qtbot, window):
    from PySide6.QtGui import QGuiApplication
    command_id = _send(window, "dict(a=[1, 2])", target=2)
    response(qtbot, window, command_id)
    _history_menu(window, command_id, "Copy command")
    qtbot.waitUntil(lambda: QGuiApplication.clipboard().text() == "dict(a=[1, 2])")
    _history_menu(window, command_id, "Copy result")
    qtbot.waitUntil(lambda: QGuiApplication.clipboard().text() == "{'a': [1, 2]}")


def test_a_command_is_shown_by_the_text_its_sender_gave_and_copied_as_sent(qtbot, window, gui_client, tmp_path):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    [command_id] = gui_client.push_command_request("value * 2", target_server=1, parameters={"value": 21},
                                                   shown="twice(21)")
    assert response(qtbot, window, command_id)["ret"] == 42
    model = window.history.model_
    cell = model.index(model.rows.index(model.row_of(command_id)), 1)
    assert (model.data(cell), model.data(cell, Qt.ItemDataRole.ToolTipRole)) == ("twice(21)", "twice(21)")
    qtbot.waitUntil(lambda: any(line.text.startswith(f"── #{command_id} done") and ": twice(21) → 42" in line.text
                                for line in window.panes[1].output.lines))
    _history_menu(window, command_id, "Copy command")
    qtbot.waitUntil(lambda: QGuiApplication.clipboard().text() == "value * 2")
    log = tmp_path / "shown.jsonl"
    log.write_text('{"event": "session", "servers": [1]}\n'
                   '{"event": "queued", "id": 1, "push": 1, "command": "value * 2", "target": 1, "block": true, '
                   '"parameters": {"value": {"literal": "21"}}, "shown": "twice(21)"}\n')
    panel = window.open_session(log)
    assert (panel.model.text(0, 1), panel.model.data(panel.model.index(0, 1), Qt.ItemDataRole.ToolTipRole)) == (
        "twice(21)", "twice(21)")
