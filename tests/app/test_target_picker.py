"""Choosing where a command goes at cluster scale: boxes that wrap, a range field, a host menu.

The picker is built for 16, 64 and 128 ranks (hosts of 32) without their processes; one window on
16 real servers checks that a typed range is where a command goes.
"""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QAbstractSlider, QApplication

from app.target_picker import MAX_VISIBLE_ROWS, TargetError, TargetPicker
from core.events import CLIENT_RANK
from gui_helpers import choose_from_next_menu, response, server_status

COLUMN_WIDTH = 480
"""About the width the window's left column gives the targets."""


def _picker(qtbot, servers: int, width: int = COLUMN_WIDTH, servers_per_host: int = 32) -> TargetPicker:
    """A picker `width` wide, its servers idle but every fifth busy."""
    picker = TargetPicker(list(range(1, servers + 1)))
    picker.resize(width, 700)
    qtbot.addWidget(picker)
    picker.show()
    qtbot.waitExposed(picker)
    for rank in picker.boxes:
        status = server_status(rank, "busy" if rank % 5 == 0 else "idle", servers_per_host)
        picker.set_state(rank, status["state"])
        picker.set_host(rank, status["processor"])
    QApplication.processEvents()  # the layout requests that showing posted: scroll bars come or go
    return picker


def _shown(picker: TargetPicker, rank: int) -> str:
    """'all', 'none' or 'part': how much of a server's box the grid's viewport shows."""
    viewport = picker.grid.viewport()
    box = picker.boxes[rank]
    area = QRect(box.mapTo(viewport, QPoint(0, 0)), box.size())
    return "all" if viewport.rect().contains(area) else "part" if viewport.rect().intersects(area) else "none"


def _assert_no_row_is_cut(picker: TargetPicker) -> None:
    cut = [rank for rank in picker.boxes if _shown(picker, rank) == "part"]
    assert not cut, f"boxes cut by the grid's edge: {cut}"


def _assert_rows_fit_the_width(picker: TargetPicker) -> None:
    grid = picker.grid
    assert not grid.horizontalScrollBar().isVisible()
    assert grid.widget().width() == grid.viewport().width()
    assert all(box.geometry().right() < grid.viewport().width() for box in picker.boxes.values())


def _type(qtbot, picker: TargetPicker, text: str) -> None:
    picker.range.selectAll()
    qtbot.keyClicks(picker.range, text)
    qtbot.keyClick(picker.range, Qt.Key.Key_Return)


def _click(qtbot, picker: TargetPicker, rank: int) -> None:
    box = picker.boxes[rank]
    picker.grid.ensureWidgetVisible(box, 0, 0)
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))  # the box


@pytest.mark.parametrize("servers", [16, 64, 128])
def test_every_server_box_scrolls_fully_into_view_and_no_row_is_ever_cut(qtbot, servers):
    picker = _picker(qtbot, servers)
    grid = picker.grid
    rows = grid.grid.rows(grid.viewport().width())
    assert grid.viewport().height() == grid.grid.rows_height(min(rows, MAX_VISIBLE_ROWS))
    assert grid.verticalScrollBar().isVisible() == (rows > MAX_VISIBLE_ROWS)
    _assert_rows_fit_the_width(picker)
    for rank in picker.boxes:
        grid.ensureWidgetVisible(picker.boxes[rank], 0, 0)
        assert _shown(picker, rank) == "all"
        _assert_no_row_is_cut(picker)
    grid.verticalScrollBar().setValue(0)
    while grid.verticalScrollBar().value() < grid.verticalScrollBar().maximum():  # the arrows, the wheel
        grid.verticalScrollBar().triggerAction(QAbstractSlider.SliderAction.SliderSingleStepAdd)
        _assert_no_row_is_cut(picker)


@pytest.mark.parametrize("servers", [16, 64, 128])
def test_with_room_enough_every_server_shows_at_once(qtbot, servers):
    picker = _picker(qtbot, servers, width=2100)
    assert not picker.grid.verticalScrollBar().isVisible()
    assert [rank for rank in picker.boxes if _shown(picker, rank) != "all"] == []
    _assert_rows_fit_the_width(picker)


def test_the_grid_rewraps_when_its_column_narrows_or_widens(qtbot):
    picker = _picker(qtbot, 128, width=2100)
    wide_rows = picker.grid.grid.rows(picker.grid.viewport().width())
    picker.resize(360, 700)
    qtbot.waitUntil(lambda: picker.grid.viewport().width() < 360)
    assert picker.grid.grid.rows(picker.grid.viewport().width()) > wide_rows
    assert picker.grid.verticalScrollBar().isVisible()
    _assert_rows_fit_the_width(picker)
    _assert_no_row_is_cut(picker)
    picker.resize(2100, 700)
    qtbot.waitUntil(lambda: not picker.grid.verticalScrollBar().isVisible())
    _assert_rows_fit_the_width(picker)


def test_each_box_shows_its_servers_state_and_host(qtbot):
    picker = _picker(qtbot, 64)
    picker.set_state(40, "lost")
    assert picker.boxes[40].toolTip() == "Server 40 on node02: lost"
    assert picker.boxes[40].icon().cacheKey() != picker.boxes[41].icon().cacheKey()
    assert picker.boxes[5].icon().cacheKey() == picker.boxes[10].icon().cacheKey()  # both busy


def test_a_typed_range_ticks_exactly_its_servers_and_reads_back_compressed(qtbot):
    picker = _picker(qtbot, 128)
    _type(qtbot, picker, "1-8,12 , 100 - 102")
    assert picker.chosen() == [1, 2, 3, 4, 5, 6, 7, 8, 12, 100, 101, 102]
    assert picker.range.text() == "1-8, 12, 100-102"
    assert picker.targets() == picker.chosen()
    assert not picker.first_available.isChecked()
    _type(qtbot, picker, "all")
    assert picker.chosen() == list(range(1, 129)) and picker.range.text() == "1-128"
    _type(qtbot, picker, "None")
    assert picker.chosen() == [] and picker.range.text() == ""


def test_ticking_boxes_writes_the_range_back(qtbot):
    picker = _picker(qtbot, 128)
    for rank in (1, 2, 3, 4, 7, 120):
        _click(qtbot, picker, rank)
    assert picker.range.text() == "1-4, 7, 120"
    _click(qtbot, picker, 3)
    assert picker.range.text() == "1-2, 4, 7, 120"
    qtbot.mouseClick(picker.findChild(type(picker.host_button), "targetAll"), Qt.MouseButton.LeftButton)
    assert picker.range.text() == "1-128"
    qtbot.mouseClick(picker.findChild(type(picker.host_button), "targetNone"), Qt.MouseButton.LeftButton)
    assert picker.range.text() == "" and picker.chosen() == []


@pytest.mark.parametrize(("typed", "message"), [
    ("1-4, 9-3", "Servers: '9-3' runs backwards: write 3-9"),
    ("1-200", "Servers: '1-200': this session has no server 200 (its servers are 1-128)"),
    ("1-4; 7", "Servers: '1-4; 7' is not a server number or a range like 1-8"),
])
def test_a_bad_range_is_refused_with_a_message_naming_the_field_and_the_bad_part(qtbot, typed, message):
    picker = _picker(qtbot, 128)
    _type(qtbot, picker, typed)
    assert picker.range_message.isVisible() and picker.range_message.text() == message
    assert picker.range.styleSheet() and picker.range.toolTip() == message
    with pytest.raises(TargetError) as refused:
        picker.targets()
    assert str(refused.value) == message
    _type(qtbot, picker, "1-4, 9")
    assert not picker.range_message.isVisible() and not picker.range.styleSheet()
    assert picker.targets() == [1, 2, 3, 4, 9]


def test_a_range_being_typed_chooses_servers_over_first_available(qtbot):
    picker = _picker(qtbot, 16)
    assert picker.targets() is None
    qtbot.keyClicks(picker.range, "3-")  # not finished, not yet a range: nothing may go anywhere
    assert not picker.first_available.isChecked()
    with pytest.raises(TargetError, match="Servers: '3-' is not a server number"):
        picker.targets()
    qtbot.keyClicks(picker.range, "5")
    assert picker.targets() == [3, 4, 5] and picker.range.text() == "3-5"


def test_the_host_menu_lists_each_host_with_its_count_and_chooses_exactly_its_servers(qtbot):
    picker = _picker(qtbot, 128)
    picker._fill_host_menu()
    assert [action.text() for action in picker.host_menu.actions()] == [
        f"node0{n} — 32 servers  ({32 * n - 31}-{32 * n})" for n in (1, 2, 3, 4)]
    _type(qtbot, picker, "1-3")
    choose_from_next_menu("node03 — 32 servers  (65-96)")
    qtbot.mouseClick(picker.host_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: picker.chosen() == list(range(65, 97)))
    assert picker.range.text() == "65-96" and picker.targets() == list(range(65, 97))


def test_hosts_dealt_ranks_in_turn_are_chosen_whole_and_shown_cut_short(qtbot):
    picker = _picker(qtbot, 128, servers_per_host=1)
    for rank in picker.boxes:
        picker.set_host(rank, f"node{rank % 4}")
    picker._fill_host_menu()
    [first, *_] = picker.host_menu.actions()
    assert first.text() == "node0 — 32 servers  (4, 8, 12, 16, 20, 24, 2…)"
    first.trigger()
    assert picker.chosen() == list(range(4, 129, 4))


def test_before_any_server_reports_its_host_the_menu_says_so(qtbot):
    picker = TargetPicker([1, 2])
    qtbot.addWidget(picker)
    picker._fill_host_menu()
    [only] = picker.host_menu.actions()
    assert not only.isEnabled() and "No server has said where it runs" in only.text()


def test_first_available_and_the_client_each_exclude_every_other_target(qtbot):
    picker = _picker(qtbot, 16)
    _type(qtbot, picker, "2-4")
    picker.client.setChecked(True)
    assert picker.targets() == [CLIENT_RANK]
    assert picker.chosen() == [] and picker.range.text() == "" and not picker.first_available.isChecked()
    picker.first_available.setChecked(True)
    assert picker.targets() is None and not picker.client.isChecked()
    _click(qtbot, picker, 9)
    assert picker.targets() == [9] and not picker.first_available.isChecked()


def test_select_shows_a_commands_target_in_the_boxes_and_the_range(qtbot):
    picker = _picker(qtbot, 16)
    picker.select([3, 4, 5, 9])
    assert picker.targets() == [3, 4, 5, 9] and picker.range.text() == "3-5, 9"
    picker.select(7)
    assert picker.targets() == [7] and picker.range.text() == "7"
    picker.select(CLIENT_RANK)
    assert picker.targets() == [CLIENT_RANK] and picker.range.text() == ""
    picker.select(None)
    assert picker.targets() is None and picker.chosen() == []


def test_a_lost_server_in_a_range_is_named_when_sending_is_refused(qtbot):
    picker = _picker(qtbot, 16)
    for rank in (3, 4, 5):
        picker.set_state(rank, "lost")
    _type(qtbot, picker, "1-8")
    with pytest.raises(TargetError, match="server 3-5 is lost"):
        picker.targets()


def test_a_command_sent_to_a_typed_range_is_answered_by_exactly_those_servers(qtbot, many_session, many_window):
    window = many_window
    qtbot.waitUntil(lambda: len(window.targets.hosts) == 16, timeout=20000)
    picker = window.findChild(TargetPicker)
    field = window.findChild(type(picker.range), "targetRange")
    field.setFocus()
    _type(qtbot, picker, "1-4, 9-3")
    assert not window.run("'refused'")
    assert window.message.text() == "Not sent: Servers: '9-3' runs backwards: write 3-9"
    _type(qtbot, picker, "1-4, 9")
    window.editor.setPlainText("__import__('os').getpid(), 'answered'")
    qtbot.waitUntil(window.run_button.isEnabled)
    qtbot.mouseClick(window.run_button, Qt.MouseButton.LeftButton)
    ids = window.last_sent
    assert len(ids) == 5 and window.message.text() == "Sent to servers 1-4, 9."
    answers = [response(qtbot, window, command_id) for command_id in ids]
    assert sorted(answer["server"] for answer in answers) == [1, 2, 3, 4, 9]
    pids = {rank: status["pid"] for rank, status in many_session.client.get_server_status().items()}
    assert all(answer["ret"] == (pids[answer["server"]], "answered") for answer in answers)
