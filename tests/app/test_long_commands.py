"""Long commands in the window: progress in the history, the pane headers and the overview; the Time
limit field ending a command as 'expired' with its stack; retries shown as attempts; the Stacks
view grouping busy servers by call path."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.history_table import STATUS_COLUMN
from app.server_overview import PROGRESS_COLUMN
from app.server_states import STATUS_COLORS
from gui_helpers import choose_from_next_menu, response, sent, window_on
from mpi_helpers import started_client

TIMEOUT_MS = 120_000
HELD = ("import os, time\nprogress(37, 100, 'flagging')\n"
        "while not os.path.exists(marker):\n    time.sleep(0.02)\n'released'")
"""Reports 37/100 and runs until the file `marker` (a parameter) exists."""
ASLEEP = "import time\ndef nap():\n    time.sleep(60)\nnap()"
DIES_ONCE = ("import os\nif not os.path.exists(marker):\n    open(marker, 'w').close()\n    os._exit(3)\n"
             "'survived'")
WAITING = "import time\ndef wait_for(seconds):\n    time.sleep(seconds)\ndef flagdata():\n    wait_for(600)\nflagdata()"
CALIBRATING = "import time\ndef calibrate():\n    time.sleep(600)\ncalibrate()"
"""Commands that stay in one call path until they are interrupted (a loop polling a file would be
seen in `os.path.exists` now and then: another call path)."""


@pytest.fixture(scope="module")
def four_session():
    from core.frontends.host import SessionHost
    with started_client(4) as client:
        host = SessionHost(client)
        yield host
        host.close()


@pytest.fixture
def four_window(qtbot, four_session):
    window = window_on(qtbot, four_session)
    yield window
    window.limits.set_limits(None, 0)
    window.parameters.set_parameters(None)


def _cell(window, command_id: int, column: int, role=Qt.ItemDataRole.DisplayRole):
    """A cell of `command_id`'s history row (None before the row shows)."""
    model = window.history.model_
    row = model.row_of(command_id)
    return None if row is None else model.index(model.rows.index(row), column).data(role)


def _history_menu(window, command_id: int, action: str) -> None:
    row = next(i for i, r in enumerate(window.history.model_.rows) if r.id == command_id)
    position = window.history.visualRect(window.history.model_.index(row, 1)).center()
    choose_from_next_menu(action)
    window.history.customContextMenuRequested.emit(position)


def test_progress_from_four_servers_shows_in_the_history_the_pane_headers_and_the_overview(qtbot, four_window,
                                                                                            tmp_path):
    window = four_window
    window.parameters.set_parameters({"marker": str(tmp_path / "release")})
    ids = sent(qtbot, window, HELD, [1, 2, 3, 4])
    qtbot.waitUntil(lambda: all(_cell(window, i, STATUS_COLUMN) == "running · 37/100 flagging" for i in ids),
                    timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: all(window.panes[rank].progress.text() == "<b>37/100 flagging</b>"
                                and window.overview.items[rank].text(PROGRESS_COLUMN) == "37/100 flagging"
                                for rank in (1, 2, 3, 4)), timeout=TIMEOUT_MS)
    (tmp_path / "release").touch()
    for command_id in ids:
        assert response(qtbot, window, command_id, TIMEOUT_MS)["ret"] == "released"
    qtbot.waitUntil(lambda: all(window.panes[rank].progress.text() == ""
                                and window.overview.items[rank].text(PROGRESS_COLUMN) == "" for rank in (1, 2, 3, 4)))
    assert {_cell(window, i, STATUS_COLUMN) for i in ids} == {"done"}


def test_a_bad_time_limit_is_refused_naming_the_field(four_window):
    window = four_window
    window.limits.time_limit_field.setText("soon")
    assert window.run("1") == []
    assert window.message.text() == ("Not sent: time limit 'soon' is not a positive number of seconds "
                                     "(leave it empty for no limit)")
    assert "background" in window.limits.time_limit_field.styleSheet()


def test_the_time_limit_field_ends_a_sleeping_command_as_expired_with_its_stack_in_the_response_view(
        qtbot, four_window):
    window = four_window
    window.limits.time_limit_field.setText("1.5")
    [command_id] = sent(qtbot, window, ASLEEP, [1])
    expired = response(qtbot, window, command_id, TIMEOUT_MS)
    assert (expired["status"], expired["time_limit"]) == ("expired", 1.5)
    assert (_cell(window, command_id, STATUS_COLUMN), _cell(window, command_id, STATUS_COLUMN + 1)) == (
        "expired", "1.5 s")
    assert _cell(window, command_id, STATUS_COLUMN, Qt.ItemDataRole.ForegroundRole).name() == STATUS_COLORS["expired"]
    window.history.selectRow(window.history.model_.rows.index(window.history.model_.row_of(command_id)))
    panel = window.panes[1].response
    qtbot.waitUntil(lambda: panel.response is not None and panel.response["id"] == command_id)
    assert "<b>expired</b>" in panel.heading.text() and "its time limit: 1.5 s" in panel.heading.text()
    shown = panel.traceback.text.toPlainText()
    assert "Where it was when its time limit was reached:" in shown
    assert "in nap" in shown.split("Where it was")[1]


def test_a_retried_command_shows_each_attempt_in_the_history(qtbot, four_window, tmp_path):
    window = four_window
    window.parameters.set_parameters({"marker": str(tmp_path / "died")})
    window.limits.retries_field.setValue(2)
    [command_id] = sent(qtbot, window, DIES_ONCE, [2])
    survived = response(qtbot, window, command_id, TIMEOUT_MS)
    assert (survived["status"], survived["ret"], len(survived["attempts"])) == ("done", "survived", 1)
    assert _cell(window, command_id, STATUS_COLUMN) == "done · attempt 2 of 3"
    first, final = _cell(window, command_id, STATUS_COLUMN, Qt.ItemDataRole.ToolTipRole).splitlines()
    assert first.startswith("attempt 1 on server 2: ") and "exited with code 3" in first
    assert final == "attempt 2 on server 2: done"


def test_the_stacks_view_groups_sixteen_busy_servers_by_call_path_from_a_history_row_and_a_pane(
        qtbot, many_window):
    window = many_window
    flagging = sent(qtbot, window, WAITING, list(range(1, 15)))
    calibrating = sent(qtbot, window, CALIBRATING, [15, 16])
    qtbot.waitUntil(lambda: all(_cell(window, i, STATUS_COLUMN) == "running" for i in flagging + calibrating),
                    timeout=TIMEOUT_MS)
    _history_menu(window, flagging[2], "Where is it now?")
    qtbot.waitUntil(lambda: window.stacks_view is not None and window.stacks_view.filled_in is not None,
                    timeout=TIMEOUT_MS)
    view = window.stacks_view
    assert window.pane_tabs.currentWidget() is view and view.servers == list(range(1, 15))
    assert [ranks for _path, ranks in view.groups] == [list(range(1, 15))]
    group = view.tree.topLevelItem(0)
    assert (group.text(0), group.text(1)) == ("14 servers in <module> → flagdata → wait_for", "1-14")
    assert 'in wait_for' in view.text.toPlainText() and view.text.toPlainText().startswith("server 1, command #")
    with qtbot.waitSignal(view.filled, timeout=TIMEOUT_MS):
        qtbot.mouseClick(window.all_pane.findChild(type(view.refresh_button), "stacksButton"),
                         Qt.MouseButton.LeftButton)
    assert view.servers is None
    assert [(group.text(0), group.text(1)) for group in map(view.tree.topLevelItem, range(2))] == [
        ("14 servers in <module> → flagdata → wait_for", "1-14"), ("2 servers in <module> → calibrate", "15-16")]
    assert "16 running a command, 0 idle" in view.summary.text()
    window.bridge.interrupt(flagging + calibrating)
    for command_id in flagging + calibrating:
        assert response(qtbot, window, command_id, TIMEOUT_MS)["status"] == "interrupted"
    with qtbot.waitSignal(view.filled, timeout=TIMEOUT_MS):
        qtbot.mouseClick(view.refresh_button, Qt.MouseButton.LeftButton)
    assert [group.text(0) for group in map(view.tree.topLevelItem, range(view.tree.topLevelItemCount()))] == [
        "16 servers idle"]


def test_the_client_panes_stacks_button_shows_where_the_client_side_worker_is(qtbot, four_window):
    window = four_window
    [dozing] = window.bridge.submit("import time\ndef doze():\n    time.sleep(600)\ndoze()", [0], None)
    qtbot.waitUntil(lambda: _cell(window, dozing.command_id, STATUS_COLUMN) == "running", timeout=TIMEOUT_MS)
    qtbot.mouseClick(window.client_pane.findChild(type(window.run_button), "stacksButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.stacks_view is not None and window.stacks_view.filled_in is not None,
                    timeout=TIMEOUT_MS)
    view = window.stacks_view
    assert view.servers == [0]
    # "running" is the client's word: the worker may still be starting (no stack yet), or
    # compiling the command, when the stacks are first read; they come to rest in doze.
    for _ in range(100):
        if view.tree.topLevelItem(0).text(0) == "the client in <module> → doze":
            break
        with qtbot.waitSignal(view.filled, timeout=TIMEOUT_MS):
            view.refresh_button.click()
    assert (view.tree.topLevelItem(0).text(0), view.tree.topLevelItem(0).text(1)) == (
        "the client in <module> → doze", "client")
    assert view.text.toPlainText().startswith(f"the client, command #{dozing.command_id}:")
    window.bridge.interrupt([dozing.command_id])
    assert response(qtbot, window, dozing.command_id, TIMEOUT_MS)["status"] == "interrupted"
