"""Typing a command, choosing where it goes and with which parameters, and seeing its result."""
from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QTextCursor

from gui_helpers import response


def _type_command(qtbot, window, text: str) -> None:
    window.editor.clear()
    qtbot.keyClicks(window.editor, text)


def _tick(qtbot, window, name: str) -> None:
    box = window.findChild(type(window.targets.first_available), name)
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))  # the box


def test_typed_command_runs_on_the_ticked_server_and_shows_its_result(qtbot, window):
    _type_command(qtbot, window, "{'answer': 6 * 7, 'items': [1, 2, 3]}")
    _tick(qtbot, window, "targetServer2")
    assert not window.targets.first_available.isChecked()
    qtbot.mouseClick(window.findChild(type(window.run_button), "runButton"), Qt.MouseButton.LeftButton)
    [command_id] = window.last_sent
    response(qtbot, window, command_id)
    row = window.history.model_.row_of(command_id)
    assert (row.server, row.status, row.target) == (2, "done", 2)
    pane = window.findChild(type(window.all_pane), "serverPane2")
    qtbot.waitUntil(lambda: pane.response.response is not None and pane.response.response["id"] == command_id)
    tree = pane.response.result
    root = tree.topLevelItem(0)
    assert root.text(1) == "dict of 2"
    children = {root.child(i).text(0): root.child(i).text(1) for i in range(root.childCount())}
    assert children == {"'answer'": "42", "'items'": "list of 3"}
    assert any(f"#{command_id} done" in line.text for line in window.all_pane.output.lines)


def test_a_block_ending_in_an_expression_shows_that_value_in_the_response_view(qtbot, window):
    _type_command(qtbot, window, "x = 1")
    qtbot.keyClick(window.editor, Qt.Key.Key_Return)
    qtbot.keyClicks(window.editor, "x + 1")
    [command_id] = window.run(window.editor.toPlainText())
    result = response(qtbot, window, command_id)
    assert (result["mode"], result["ret"]) == ("exec", 2)
    pane = window.findChild(type(window.all_pane), f"serverPane{result['server']}")
    qtbot.waitUntil(lambda: pane.response.response is not None and pane.response.response["id"] == command_id)
    root = pane.response.result.topLevelItem(0)
    assert (root.text(0), root.text(1)) == ("ret", "2")


def test_parameters_from_the_table_are_sent_as_native_values(qtbot, window):
    window.parameters.add_row("a", "[1, 2]")
    window.parameters.add_row("b", "{'x': (3.5, None)}")
    assert window.parameters.table.item(0, 2).text() == "list[2]"
    assert window.parameters.table.item(1, 2).text() == "dict[1]"
    _type_command(qtbot, window, "(a, b)")
    ids = window.run(window.editor.toPlainText())
    assert ids, window.message.text()
    [command_id] = ids
    assert response(qtbot, window, command_id)["ret"] == ([1, 2], {"x": (3.5, None)})


def test_bad_parameter_value_is_marked_and_run_is_refused_naming_it(qtbot, window):
    rows_before = window.history.model_.rowCount()
    window.parameters.add_row("spw", "[1, 3")
    value = window.parameters.table.item(0, 1)
    assert "'spw'" in value.toolTip() and window.parameters.table.item(0, 2).text() == "invalid"
    _type_command(qtbot, window, "spw")
    assert not window.run(window.editor.toPlainText())
    assert "Not sent: parameter 'spw'" in window.message.text()
    assert window.history.model_.rowCount() == rows_before


def test_bad_parameter_name_is_refused(qtbot, window):
    window.parameters.add_row("for", "1")
    _type_command(qtbot, window, "1")
    assert not window.run("1")
    assert "parameter name 'for' is not a Python identifier" in window.message.text()


def test_value_that_is_not_a_literal_is_never_evaluated(qtbot, window, tmp_path):
    marker = tmp_path / "evaluated"
    window.parameters.add_row("x", f"open({str(marker)!r}, 'w')")
    assert not window.run("x")
    assert "not a Python literal" in window.message.text() and not marker.exists()


def test_empty_command_disables_run(qtbot, window):
    window.editor.clear()
    qtbot.waitUntil(lambda: not window.run_button.isEnabled())
    _type_command(qtbot, window, "   ")
    qtbot.wait(200)  # the syntax check runs after a pause in typing; nothing may enable Run
    assert not window.run_button.isEnabled()


def test_syntax_error_is_shown_inline_before_anything_is_sent(qtbot, window):
    rows_before = window.history.model_.rowCount()
    window.editor.setPlainText("x = (1,")
    window.editor.moveCursor(QTextCursor.MoveOperation.End)
    qtbot.keyClick(window.editor, Qt.Key.Key_Return)
    qtbot.keyClicks(window.editor, "y = 2")
    assert window.editor.toPlainText() == "x = (1,\ny = 2"
    problem = window.findChild(type(window.message), "commandProblem")
    qtbot.waitUntil(lambda: problem.isVisible() and "Syntax error" in problem.text())
    assert not window.run_button.isEnabled() and window.editor.extraSelections()
    qtbot.keyClick(window.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert window.history.model_.rowCount() == rows_before


def test_ctrl_enter_runs_everything_and_shift_enter_the_current_line(qtbot, window):
    window.editor.setPlainText("x1 = 1\nx2 = 2")
    window.editor.moveCursor(QTextCursor.MoveOperation.End)
    qtbot.keyClick(window.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    [line] = window.last_sent
    assert response(qtbot, window, line)["command"] == "x2 = 2"
    qtbot.keyClick(window.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    [whole] = window.last_sent
    assert response(qtbot, window, whole)["command"] == "x1 = 1\nx2 = 2"


def test_ctrl_up_and_down_recall_earlier_commands(qtbot, window):
    for command in ("alpha = 1", "beta = 2"):
        window.editor.setPlainText(command)
        assert window.run(command)
    window.editor.setPlainText("draft")
    qtbot.keyClick(window.editor, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)
    assert window.editor.toPlainText() == "beta = 2"
    qtbot.keyClick(window.editor, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)
    assert window.editor.toPlainText() == "alpha = 1"
    qtbot.keyClick(window.editor, Qt.Key.Key_Down, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window.editor, Qt.Key.Key_Down, Qt.KeyboardModifier.ControlModifier)
    assert window.editor.toPlainText() == "draft"


def test_no_target_chosen_refuses_to_run(qtbot, window):
    qtbot.mouseClick(window.findChild(type(window.run_button), "targetNone"), Qt.MouseButton.LeftButton)
    assert not window.run("1")
    assert "choose a target" in window.message.text()
    qtbot.mouseClick(window.findChild(type(window.run_button), "targetAll"), Qt.MouseButton.LeftButton)
    assert window.targets.targets() == [1, 2, 3]


def test_history_rows_changed_in_one_turn_reach_the_view_in_one_signal(qtbot, window):
    from core.frontends.model import HistoryEntry
    model = window.history.model_
    first = max((row.id for row in model.rows), default=0) + 1
    for offset in range(20):
        model.add(HistoryEntry(first + offset, f"x{offset} = 1", None, 1, first + offset, 1, False, "typed", 0.0))
    announced = []
    model.dataChanged.connect(lambda top, bottom: announced.append((top.row(), bottom.row())))
    for offset in range(20):
        model.row_of(first + offset).status = "running"  # as the window's session model changes it
        model.refresh([first + offset])
    assert all(model.row_of(first + offset).status == "running" for offset in range(20))  # the data at once
    qtbot.waitUntil(lambda: bool(announced))
    position = model.rows.index(model.row_of(first))
    ours = [(top, bottom) for top, bottom in announced if bottom >= position and top <= position + 19]
    assert len(ours) == 1 and ours[0][0] <= position and ours[0][1] >= position + 19, announced
