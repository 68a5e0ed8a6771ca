"""The window as a whole: status bar, menus, themes, remembered settings, many servers, closing."""
from __future__ import annotations

import os

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QMessageBox

from gui_helpers import answer_next_dialog, response, window_on


def test_status_bar_counts_servers_and_names_the_launch_mode(qtbot, window):
    qtbot.waitUntil(lambda: "3 idle" in window.statusBar().currentMessage())
    message = window.statusBar().currentMessage()
    assert "3 servers" in message and "launch mode: spawn" in message and "isolation: process" in message


def test_about_box_names_the_versions_a_bug_report_needs(window):
    from app.about import about_text
    text = about_text(window.bridge.info)
    for expected in ("mpipanel", "Qt", "MPICH", "mpi4py", "Python", "spawn"):
        assert expected in text


def test_about_box_and_pane_say_where_separated_logs_went(qtbot, window, gui_client):
    from app.about import about_text
    gui_client.set_log_mode("separated")
    try:
        window.targets.select([2])
        response(qtbot, window, window.run("print('to the file')")[0])
        qtbot.waitUntil(lambda: window.bridge.model.servers[2]["log_file"] is not None, timeout=10000)
    finally:
        gui_client.set_log_mode("redirect")
    log_file = window.bridge.model.servers[2]["log_file"]
    os.remove(log_file)  # in the directory the servers started in
    assert f"Log of server 2</b></td><td>{log_file}" in about_text(window.bridge.info, window.bridge.model.servers)
    qtbot.waitUntil(lambda: any(f"writes its output and log records to {log_file}" in line.text
                                for line in window.panes[2].output.lines), timeout=10000)


def test_theme_switch_is_remembered(qtbot, gui_session):
    first = window_on(qtbot, gui_session, theme=None)
    first.set_theme("dark")
    first.main.setSizes([300, 1000])
    first.close()
    second = window_on(qtbot, gui_session, theme=None)
    assert second.theme == "dark"
    assert QSettings("mpipanel", "mpipanel").value("theme") == "dark"
    assert second.main.sizes()[0] < second.main.sizes()[1]
    second.set_theme("light")


STUBBORN = """
import signal, time
signal.signal(signal.SIGINT, signal.SIG_IGN)  # deaf to Interrupt: the stop must wait for it
print('started', flush=True)
time.sleep(2)
"""


def test_closing_with_a_running_command_asks_then_stops_the_servers_while_the_window_paints(qtbot):
    from mpi_helpers import server_processes, wait_for_no_servers
    from core import MPICommandClient
    from core.frontends.host import SessionHost
    client = MPICommandClient(servers=1, print_output=False)
    client.start_services()
    pids = [client.get_server_status()[1]["pid"], client.get_server_status()[1]["worker_pid"]]
    window = window_on(qtbot, SessionHost(client), closing="stop", theme=None)
    window.run(STUBBORN)
    qtbot.waitUntil(lambda: any(line.text == "started" for line in window.panes[1].output.lines), timeout=20000)
    answer_next_dialog(QMessageBox.StandardButton.No)
    window.close()
    assert window.isVisible() and client.get_server_status()[1]["state"] != "stopped"
    answer_next_dialog(QMessageBox.StandardButton.Yes)
    window.close()
    assert window.isVisible() and "Stopping the servers" in window.statusBar().currentMessage()
    assert not window.centralWidget().isEnabled()
    ticks = []
    beat = QTimer(interval=50)
    beat.timeout.connect(lambda: ticks.append(window.isVisible()))
    beat.start()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=20000)
    beat.stop()
    assert ticks.count(True) >= 10  # the two seconds it waited did not freeze the event loop
    assert [r.status for r in client.commands] == ["done"]
    assert wait_for_no_servers(pids), server_processes(pids)


def test_sixteen_servers_use_the_overview_and_open_panes_on_demand(qtbot, many_window):
    window = many_window
    titles = [window.pane_tabs.tabText(i) for i in range(window.pane_tabs.count())]
    assert titles == ["All servers", "Client", "Overview"]
    qtbot.waitUntil(lambda: len(window.overview.items) == 16, timeout=20000)
    host = next(iter(window.overview.hosts))
    assert window.overview.hosts[host].childCount() == 16
    window.overview.itemDoubleClicked.emit(window.overview.items[12], 0)
    assert window.pane_tabs.currentWidget() is window.panes[12]
    window.targets.select([12])
    [command_id] = window.run("'hello from 12'")
    assert response(qtbot, window, command_id)["server"] == 12


def test_the_window_never_waits_for_the_clients_mpi_lock(qtbot, gui_client, gui_session):
    """While something else holds the client's MPI lock, the window opens, sends, interrupts, cancels,
    asks for namespaces, pulls, frees results and reports at once; a watchdog frees the lock after 5 s
    if the GUI thread waits."""
    import threading

    from app.about import about_text
    lock = gui_client._engine.lock
    lock.acquire()
    freed_by_watchdog = threading.Event()
    watchdog = threading.Timer(5.0, lambda: (freed_by_watchdog.set(), lock.release()))
    watchdog.start()
    try:
        window = window_on(qtbot, gui_session)
        window.targets.select([1])
        [sent] = window.run("import time; time.sleep(60)")
        [doomed] = window.run("'never runs'")
        window.bridge.cancel([doomed])
        window.bridge.interrupt([sent])
        window.explorer_feed.refresh([1, 2])
        window.explorer_feed.pull(window.panes[1], "never_bound", 1)
        window.free_results(None)
        window.bridge.set_result_memory(window.bridge.model.result_memory.limit)
        qtbot.waitUntil(lambda: window.bridge.unfinished_commands() >= 3)  # as the session tells the window
        unfinished = window.bridge.unfinished_commands()
        text = about_text(window.bridge.info)
    finally:
        watchdog.cancel()
        if not freed_by_watchdog.is_set():
            lock.release()
    assert not freed_by_watchdog.is_set(), "the GUI thread waited for the client's MPI lock"
    assert unfinished == 3 and "spawn" in text
    assert response(qtbot, window, doomed)["status"] == "cancelled"
    assert response(qtbot, window, sent)["status"] == "interrupted"
