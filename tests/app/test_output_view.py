"""The output stream as a user handles it: following new lines, filtering, selecting, copying."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QGuiApplication

from app.output_view import MAX_LINES, Line
from app.server_pane import ServerPane


@pytest.fixture
def pane(qtbot):
    widget = ServerPane(1)
    qtbot.addWidget(widget)
    widget.resize(700, 500)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def _numbered(count: int, start: int = 0, kind: str = "stdout") -> list[Line]:
    return [Line(kind, f"line {i}") for i in range(start, start + count)]


def _row_point(view, row_in_view: int) -> QPoint:
    return QPoint(20, int((row_in_view + 0.5) * view.fontMetrics().lineSpacing()))


def test_new_lines_follow_the_bottom_until_the_user_scrolls_up(pane):
    view = pane.output
    view.append_lines(_numbered(1000))
    assert view.visible_lines()[-1].text == "line 999"
    view.verticalScrollBar().setValue(100)
    view.append_lines(_numbered(500, start=1000))
    assert view.visible_lines()[0].text == "line 100"
    view.verticalScrollBar().triggerAction(view.verticalScrollBar().SliderAction.SliderToMaximum)
    view.append_lines(_numbered(10, start=1500))
    assert view.visible_lines()[-1].text == "line 1509"


def test_a_reader_keeps_their_place_while_old_lines_are_pushed_out(pane):
    view = pane.output
    view.append_lines(_numbered(MAX_LINES - 100))
    view.verticalScrollBar().setValue(5000)
    view.append_lines(_numbered(1000, start=MAX_LINES - 100))
    assert view.dropped == 900 and view.line_count == MAX_LINES
    assert view.visible_lines()[0].text == "line 5000"
    assert "900 lines dropped" in pane.dropped.text()


def test_the_filter_shows_matching_lines_including_new_ones_and_clearing_it_shows_all(pane):
    view = pane.output
    view.append_lines([Line("stdout", "starting"), Line("ERROR", "ERROR disk full"), Line("stdout", "retrying")])
    pane.filter.setText("error")
    assert [line.text for line in view.shown_lines] == ["ERROR disk full"]
    view.append_lines([Line("stderr", "another Error"), Line("stdout", "fine")])
    assert [line.text for line in view.shown_lines] == ["ERROR disk full", "another Error"]
    pane.filter.clear()
    assert len(view.shown_lines) == 5 and view.visible_lines()[-1].text == "fine"


def test_lines_selected_with_the_mouse_are_copied_with_ctrl_c(qtbot, pane):
    view = pane.output
    view.append_lines(_numbered(5))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=_row_point(view, 1))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier,
                     pos=_row_point(view, 3))
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == "line 1\nline 2\nline 3"
    qtbot.keyClick(view, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == "\n".join(f"line {i}" for i in range(5))


def test_a_long_line_can_be_scrolled_into_view(pane):
    view = pane.output
    view.append_lines([Line("stdout", "x" * 50)])
    assert view.horizontalScrollBar().maximum() == 0
    view.append_lines([Line("stdout", "y" * 2000)])
    assert view.horizontalScrollBar().maximum() > view.viewport().width()


def test_lines_are_drawn_in_the_colour_of_their_kind(pane):
    view = pane.output
    view.append_lines([Line("stderr", "W" * 60)] * 3)
    image = view.viewport().grab().toImage()
    red = QColor("#c62828")
    colours = {image.pixelColor(x, y).name() for x in range(image.width() // 2)
               for y in range(view.fontMetrics().lineSpacing() * 3)}
    assert red.name() in colours
