"""The Client (rank 0) target: client code and scripts run in the window, pushing to the servers."""
from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QCheckBox, QPushButton

from app.__main__ import parse_args
from benchmarks.gui import StallMeter
from casa_console import SUB_MS, casa_console_client
from core.casa.offline import missing_casa
from gui_helpers import response, window_on
from mpi_helpers import script_file


def _choose_client(qtbot, window) -> None:
    box = window.findChild(QCheckBox, "targetClient")
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))


def _run_on_client(qtbot, window, code: str) -> int:
    _choose_client(qtbot, window)
    [command_id] = window.run(code)
    return command_id


def _client_lines(window) -> list[str]:
    return [line.text for line in window.findChild(type(window.all_pane), "clientPane").output.lines]


def test_choosing_the_client_unchecks_the_servers_and_its_output_goes_to_the_client_pane(qtbot, window):
    window.targets.select([1, 2])
    _choose_client(qtbot, window)
    assert window.targets.client.isChecked() and not window.targets.first_available.isChecked()
    assert not any(box.isChecked() for box in window.targets.boxes.values())
    [command_id] = window.run("import logging\nprint('hello from rank 0')\nlogging.getLogger('x').warning('careful')")
    assert window.message.text() == "Sent to the client (rank 0)."
    assert response(qtbot, window, command_id)["successful"]
    qtbot.waitUntil(lambda: any(f"#{command_id} done" in line for line in _client_lines(window)))
    assert _client_lines(window)[-3:-1] == ["hello from rank 0", "WARNING x: careful"]
    row = window.history.model_.row_of(command_id)
    model = window.history.model_
    assert [model.index(model.rows.index(row), column).data() for column in (2, 3, 4)] == ["client", "client", "typed"]


def test_a_script_pushing_200_commands_to_all_servers_shows_them_all_with_its_line(qtbot, window, tmp_path):
    script = script_file(tmp_path, """\
        import sys
        from core import MPICommandClient, MPIEnvironment
        client = MPICommandClient()
        ids = []
        for i in range(int(sys.argv[1])):
            ids += client.push_command_request(f'{i} + 1', target_server=MPIEnvironment.mpi_server_rank_list())
        print('sum', sum(r['ret'] for r in client.get_command_response(ids, block=True)))
    """)
    ranks = window.bridge.ranks
    script_id = window.run_script(script, ["200"])
    assert response(qtbot, window, script_id, timeout=120000)["ret"] == 0
    pushed = [row for row in window.history.model_.rows if row.id > script_id]
    assert len(pushed) == 200 * len(ranks)
    assert {row.origin for row in pushed} == {"script:6"}
    qtbot.waitUntil(lambda: all(row.status == "done" for row in pushed), timeout=60000)
    assert f"sum {len(ranks) * sum(range(1, 201))}" in _client_lines(window)
    count = 200 * len(ranks)
    assert window.client_progress.text().startswith(
        f"script.py: finished, exit status 0 · {count} sent · {count} done · 0 failed · ")
    assert window.pane_tabs.currentWidget() is window.client_pane


def test_client_code_reports_its_progress_in_the_status_bar_and_the_client_pane(qtbot, window, tmp_path):
    marker = tmp_path / "release"
    _run_on_client(qtbot, window, f"import os, time\nprogress(12, 40, 'imaging')\n"
                                  f"while not os.path.exists({str(marker)!r}):\n    time.sleep(0.02)")
    qtbot.waitUntil(lambda: "running · 12/40 imaging · 0 sent" in window.client_progress.text(), timeout=20000)
    assert window.client_pane.progress.text() == "<b>12/40 imaging</b>"
    marker.touch()
    qtbot.waitUntil(lambda: window.client_progress.outcome == "done", timeout=20000)
    assert window.client_progress.text().startswith("import os, time: done · 0 sent")
    qtbot.waitUntil(lambda: window.client_pane.progress.text() == "")


def test_a_blocking_call_in_client_code_leaves_the_window_responsive(qtbot, window):
    """The client code blocks for 3 s on a server's answer; a window that waited with it would
    stall that long. The bound is a third of that, so a loaded machine's slow paints pass."""
    meter = StallMeter()
    meter.start()
    command_id = _run_on_client(qtbot, window, "import time\nfrom core import MPICommandClient\n"
                                               "MPICommandClient().push_command_request('time.sleep(3)', "
                                               "block=True, target_server=1)\ntime.sleep(0.5)")
    assert response(qtbot, window, command_id)["successful"]
    meter.stop()
    assert meter.longest_ms < 1000


def test_a_segfault_in_client_code_leaves_window_and_servers_alive_and_says_so(qtbot, window):
    command_id = _run_on_client(qtbot, window, "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)")
    failed = response(qtbot, window, command_id)
    assert failed["status"] == "failed" and "was killed by signal SIGSEGV" in failed["traceback"]
    heading = window.client_pane.response.heading.text()
    assert heading.startswith(f"<b>#{command_id}</b> on the client: <b>failed</b>")
    assert "the server's namespace was reset" in heading
    window.targets.select([1, 2, 3])
    ids = window.run("6 * 7")
    assert [response(qtbot, window, i)["ret"] for i in ids] == [42, 42, 42]
    assert response(qtbot, window, _run_on_client(qtbot, window, "1 + 1"))["ret"] == 2


def test_an_endless_client_loop_is_stopped_by_the_client_pane_interrupt(qtbot, window):
    command_id = _run_on_client(qtbot, window, "while True:\n    pass")
    qtbot.waitUntil(lambda: getattr(window.history.model_.row_of(command_id), "status", None) == "running")
    qtbot.mouseClick(window.client_pane.findChild(QPushButton, "interruptButton"), Qt.MouseButton.LeftButton)
    interrupted = response(qtbot, window, command_id)
    assert interrupted["status"] == "interrupted"
    assert interrupted["traceback"].rstrip().endswith("KeyboardInterrupt")


def test_script_option_takes_the_rest_of_the_line_as_the_scripts_arguments():
    assert parse_args(["--servers", "2", "--script", "pipeline.py", "x.ms", "--niter", "3"]).script == [
        "pipeline.py", "x.ms", "--niter", "3"]
    with pytest.raises(SystemExit):
        parse_args(["--script"])


@pytest.fixture(scope="module")
def casa_window_client(tmp_path_factory):
    """A client set up as `mpipanel --casa` sets it up, with 2 servers, and a Multi-MS."""
    reason = missing_casa()
    if reason:
        pytest.skip(reason)
    with casa_console_client(tmp_path_factory.mktemp("casa-window")) as (client, mms):
        client.mms = mms
        yield client


def test_a_casa_parallel_task_typed_for_the_client_fans_out_to_the_servers(qtbot, casa_window_client):
    """flagdata over a generated Multi-MS, typed in the Client target under --casa: its sub-MS
    jobs are in the history, pushed by client code."""
    from core.frontends.host import SessionHost
    window = window_on(qtbot, SessionHost(casa_window_client))
    command_id = _run_on_client(qtbot, window, f"summary = flagdata(vis={str(casa_window_client.mms)!r}, "
                                               f"mode='summary')\nprint('total', summary['total'])")
    assert response(qtbot, window, command_id, timeout=120000)["successful"]
    jobs = [row for row in window.history.model_.rows if row.id > command_id]
    assert len(jobs) == SUB_MS and {row.origin for row in jobs} == {"client"}
    qtbot.waitUntil(lambda: all(row.status == "done" for row in jobs), timeout=20000)
    assert {row.server for row in jobs} == {1, 2}
    shown = {window.history.model_.data(window.history.model_.index(window.history.model_.rows.index(row), 1))
             for row in jobs}  # as casatasks wrote each job, not casampi's wrapper
    assert len(shown) == SUB_MS and all(text.startswith("flagdata(vis='") and "mode='summary'" in text
                                        for text in shown), shown
    qtbot.waitUntil(lambda: any(line.startswith("total ") for line in _client_lines(window)))
    # the task's own casalog lines, written by the client-side worker, are in the Client pane,
    # the last of them before the command's line
    lines = _client_lines(window)
    done = next(i for i, line in enumerate(lines) if f"#{command_id} done" in line)
    assert any(line.startswith("INFO casa: ##### Begin Task: flagdata") for line in lines[:done])
    assert any(line.startswith("INFO casa: ##### End Task: flagdata") for line in lines[:done])
