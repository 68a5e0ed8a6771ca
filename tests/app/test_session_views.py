"""Windows as views of one session: a window opened later draws what happened before it from the
session's snapshot, two windows show the same history, and closing a window leaves the session as
its `closing` says."""
from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

from gui_helpers import answer_next_dialog, response, window_on


def _history(window) -> list[tuple]:
    return [(row.id, row.command, row.server, row.status, row.origin) for row in window.history.model_.rows]


def _texts(pane) -> list[str]:
    return [line.text for line in pane.output.lines]


def test_a_window_opened_later_shows_the_history_statuses_and_output_so_far(qtbot, gui_session):
    first = window_on(qtbot, gui_session)
    first.targets.select([2])
    [printed] = first.run("print('before the second window')\n'answer'")
    first.targets.select([1])
    [busy] = first.run("import time\nprint('busy now', flush=True)\ntime.sleep(30)")
    try:
        response(qtbot, first, printed)
        qtbot.waitUntil(lambda: first.targets.states.get(1) == "busy" and bool(first.bridge.model.load),
                        timeout=20000)
        second = window_on(qtbot, gui_session)
        assert _history(second) == _history(first)
        assert second.targets.states[1] == "busy" and second.targets.states[2] == "idle"
        assert "1 busy, 2 idle" in second.statusBar().currentMessage()
        second.open_pane(2)  # a pane out of sight draws what came before it once it shows
        pane = _texts(second.panes[2])
        assert pane.index("before the second window") < next(i for i, t in enumerate(pane) if f"#{printed} done" in t)
        assert second.panes[2].response.response["id"] == printed  # its last response, as if it had seen it come
        assert "[1] busy now" in _texts(second.all_pane) and "[2] before the second window" in _texts(second.all_pane)
        assert second.chart.samples == len(second.bridge.model.load) > 0
    finally:
        first.bridge.interrupt([busy])  # server 1 is free for the next test, whatever happened here
    assert response(qtbot, second, busy)["status"] == "interrupted"


def test_two_windows_on_one_session_show_the_same_history_in_the_same_order(qtbot, gui_session):
    one, other = window_on(qtbot, gui_session), window_on(qtbot, gui_session)
    sent = []
    for index in range(20):
        window = (one, other)[index % 2]
        window.targets.select([1 + index % 3])
        sent += window.run(f"{index} * 2")
    for command_id in sent:
        response(qtbot, one, command_id)
        response(qtbot, other, command_id)
    assert _history(one) == _history(other)
    assert [row.id for row in one.history.model_.rows][-20:] == sorted(sent)


def test_closing_the_sessions_own_window_stops_it_once_asked(qtbot):
    """The window's own session (`mpipanel`): closing it stops the servers; Detach is offered
    only where the session can outlive the window."""
    from core import MPICommandClient
    from core.frontends.host import SessionHost
    from mpi_helpers import server_processes, wait_for_no_servers
    client = MPICommandClient(servers=1, print_output=False, session_log=False)
    client.start_services()
    pids = [client.get_server_status()[1]["pid"], client.get_server_status()[1]["worker_pid"]]
    host = SessionHost(client)
    window = window_on(qtbot, host, closing="stop")
    assert not window.session.detach_action.isEnabled()
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=20000)
    assert host.ended.is_set() and "stopped by typed" in window.session.ended
    assert wait_for_no_servers(pids), server_processes(pids)


def test_closing_an_attached_window_asks_to_detach_or_stop(qtbot, gui_session):
    window = window_on(qtbot, gui_session, closing="ask")
    seen = answer_next_dialog(QMessageBox.StandardButton.Cancel)
    window.close()
    assert window.isVisible() and "Detach from session" in seen[0]
    detach = answer_next_dialog("Detach")
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible())
    assert detach and not gui_session.ended.is_set()
    assert window.bridge.frontend._subscription is None  # its feed ended; the session goes on

