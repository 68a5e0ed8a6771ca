"""A notebook attached to a session that runs elsewhere (`python -m core --serve --servers 2`, a real
process): `%%px` cells work as on servers of its own, its commands are in that session's log in
order with origin 'notebook' and in the script the session saves, detaching leaves the session to
the others, and stopping it is the user's explicit choice."""
from __future__ import annotations

import re
import time

import pytest

from mpi_helpers import logged_history, serving
from notebook_helpers import (LOOPING, WAIT_FOR_FILE, Kernel, error_of, flood_is_capped_and_the_kernel_responsive,
                              interrupt_once_running, plain_of, run_notebook, text_of, touch_once_shown)

STREAM = ("%%px\nimport logging, sys\nfor i in range(3):\n    print('tick', i, flush=True)\n"
          "logging.getLogger('calib').warning('low flux')\nprint('careful', file=sys.stderr)\nx = 40\nx + 2")
CELLS = {
    "load": "%load_ext core.jupyter",
    "unknown session": "%mpipanel attach 0nosuch",
    "attach": "%mpipanel attach {session}",
    "start refused": "%mpipanel start -n 1",
    "attach refused": "%mpipanel attach",
    "stream": STREAM,
    "array": "%px --targets 2 import numpy as np; np.arange(4) * x",
    "error": "%%px\nvalue = 1\nvalue / (value - 1)",
    "noblock": "%px --noblock x + 1",
    "result": "%pxresult",
    "status": "%mpipanel status",
    "stop refused": "%mpipanel stop",
    "detach": "%mpipanel detach",
    "after detach": "%px 1",
}
SENT = ["stream", "array", "error", "noblock"]
"""The cells whose commands reach the session, in order."""


@pytest.fixture(scope="module")
def headless(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("headless")
    with serving(tmp, 2) as (process, session, _env):
        yield process, session


@pytest.fixture(scope="module")
def notebook(headless, tmp_path_factory):
    _process, session = headless
    sources = [CELLS[name].format(session=session) if name == "attach" else CELLS[name] for name in CELLS]
    executed = run_notebook(sources, tmp_path_factory.mktemp("notebook"))
    return dict(zip(CELLS, executed.cells))


def _code(name: str) -> str:
    """What a cell sends: the cell's text less its `%px`/`%%px` line and options."""
    from core.jupyter.px_line import split_px_line
    text = CELLS[name]
    return text.split("\n", 1)[1] if text.startswith("%%px") else split_px_line(text.removeprefix("%px "))[1]


def test_a_notebook_attaches_to_a_headless_session_by_its_id(notebook, headless):
    process, session = headless
    assert re.match(rf"mpipanel: attached to session {session} \(serve, pid {process.pid} on \S+\): 2 servers "
                    r"\(1, 2\); session log there: \S+\.jsonl; %mpipanel detach leaves it running\n$",
                    text_of(notebook["attach"]))


def test_attaching_to_a_session_that_does_not_run_is_refused_naming_those_that_do(notebook, headless):
    _process, session = headless
    refusal = re.fullmatch(r"UsageError: %mpipanel attach: no session '0nosuch' \(running: (.*)\)\n",
                           text_of(notebook["unknown session"], "stderr"))
    assert refusal and session in refusal[1].split(", ")  # others' sessions in /tmp/mpipanel-UID are listed too


def test_starting_servers_or_attaching_again_is_refused_while_attached(notebook, headless):
    _process, session = headless
    for name, action in (("start refused", "start"), ("attach refused", "attach")):
        refusal = text_of(notebook[name], "stderr")
        assert refusal.startswith(f"UsageError: %mpipanel {action}: this notebook is attached to session {session} ")
        assert refusal.endswith(" (%mpipanel detach first)\n")


def test_output_values_and_errors_show_attached_as_they_do_on_servers_of_the_kernels_own(notebook):
    stdout, stderr = text_of(notebook["stream"], "stdout"), text_of(notebook["stream"], "stderr")
    for server in (1, 2):
        assert [line for line in stdout.splitlines() if line.startswith(f"[stdout:{server}]")] == \
            [f"[stdout:{server}] tick {i}" for i in range(3)]
        assert f"[stderr:{server}] careful\n" in stderr and f"[log:{server}] WARNING calib: low flux\n" in stderr
    count = notebook["stream"]["execution_count"]
    assert plain_of(notebook["stream"]) == [f"Out[1:{count}]: 42\nOut[2:{count}]: 42"]
    count = notebook["array"]["execution_count"]
    assert plain_of(notebook["array"]) == [f"Out[2:{count}]: array([  0,  40,  80, 120])"]
    error = error_of(notebook["error"])
    assert (error["ename"], error["evalue"]) == ("PxCellError", "the cell failed on servers 1, 2")
    assert "ZeroDivisionError: division by zero" in "\n".join(error["traceback"])
    count = notebook["noblock"]["execution_count"]
    assert plain_of(notebook["result"]) == [f"Out[1:{count}]: 41\nOut[2:{count}]: 41"]


def test_status_names_the_session_and_its_link(notebook, headless):
    process, session = headless
    assert text_of(notebook["status"]).startswith(f"attached to session {session} (serve, pid {process.pid} on ")
    assert text_of(notebook["status"]).endswith(": link up\n")
    [table] = plain_of(notebook["status"])
    assert [line.split()[:2] for line in table.splitlines()[1:]] == [["1", "idle"], ["2", "idle"]]


def test_stop_on_an_attached_notebook_is_refused_pointing_to_detach_and_stop_session(notebook, headless):
    _process, session = headless
    assert text_of(notebook["stop refused"], "stderr").startswith(
        f"UsageError: %mpipanel stop: this notebook is attached to session {session} ")
    assert ("which it did not start: %mpipanel detach leaves it running, %mpipanel stop --session stops its "
            "servers for every frontend of it") in text_of(notebook["stop refused"], "stderr")


def test_the_notebooks_commands_are_in_the_sessions_log_in_order_with_origin_notebook(notebook, headless):
    import core
    _process, session = headless
    with core.attach(session) as program:
        log = program.session_log_path
    notebook_rows = [row for row in logged_history(log) if row[4] == "notebook"]
    per_server = [_code(name) for name in SENT for _ in range(1 if name == "array" else 2)]
    assert [row[1].rstrip() for row in notebook_rows] == per_server
    assert [row[2] for row in notebook_rows] == [1, 2, 2, 1, 2, 1, 2]
    assert [row[0] for row in notebook_rows] == sorted(row[0] for row in notebook_rows)


def test_detaching_leaves_the_session_running_for_another_program(notebook, headless):
    import core
    process, session = headless
    assert text_of(notebook["detach"]) == (f"mpipanel: detached from session {session} (serve, pid {process.pid} "
                                           f"on {core.attach(session).info.host}), which goes on running\n")
    assert "no servers run here" in text_of(notebook["after detach"], "stderr")
    assert process.poll() is None
    with core.attach(session) as program:
        [response] = program.push_command_request("x * 3", block=True, target_server=1)
    assert response["ret"] == 120  # the namespace the notebook left


def test_the_script_the_session_saves_includes_the_notebooks_commands(notebook, headless):
    import core
    _process, session = headless
    with core.attach(session) as program:
        script = program.frontend.session_script().result(60)
    positions = [script.index(text) for text in ("warning('low flux')", "np.arange(4) * x", "value / (value - 1)")]
    assert positions == sorted(positions)


def test_a_cell_attached_by_connection_file_streams_while_it_runs_and_kernel_interrupt_stops_it(headless, bare_kernel,
                                                                                              tmp_path):
    from core.frontends import connection_files
    process, session = headless
    kernel = bare_kernel
    connection_file = connection_files.find(session).path
    assert f"attached to session {session} " in kernel.run(f"%mpipanel attach {connection_file}").streams("stdout")
    go = tmp_path / "go"
    reply = kernel.run(WAIT_FOR_FILE.format(path=str(go)), touch_once_shown(go))
    assert reply.status == "ok", reply.messages
    seen: list[str] = []
    started = time.monotonic()
    reply = kernel.run(LOOPING, interrupt_once_running(kernel, [1, 2], seen))
    assert "interrupted" in seen and time.monotonic() - started < 30
    assert (reply.error["ename"], reply.error["evalue"]) == \
        ("CellInterrupted", "the cell's commands were interrupted on servers 1, 2")
    after = kernel.run("%px 'alive'")
    assert after.error is None
    assert after.messages[-1][1]["data"] == {"text/plain": "Out[1:5]: 'alive'\nOut[2:5]: 'alive'"}
    assert kernel.run("%mpipanel detach").status == "ok"
    assert process.poll() is None


def test_stop_session_from_an_attached_notebook_ends_it_for_every_frontend(tmp_path):
    import core
    with serving(tmp_path, 1) as (process, session, _env):
        kernel = Kernel(tmp_path)
        try:
            with core.attach(session) as program:
                assert kernel.run("%load_ext core.jupyter").status == "ok"
                assert kernel.run(f"%mpipanel attach {session[:4]}").status == "ok"
                stopped = kernel.run("%mpipanel stop --session")
                assert stopped.status == "ok" and stopped.streams("stdout") == "mpipanel: servers stopped\n"
                ended = program.replica.wait_for(lambda model: model.ended, 60)
                assert ended and ended.reason.startswith("stopped by ")
            assert process.wait(60) == 0
            assert "no servers run here" in kernel.run("%mpipanel status").streams("stderr")
        finally:
            kernel.close()


def test_a_flood_from_four_servers_of_an_attached_session_is_capped_and_the_kernel_stays_responsive(tmp_path):
    with serving(tmp_path, 4) as (process, session, _env):
        kernel = Kernel(tmp_path)
        try:
            assert kernel.run("%load_ext core.jupyter").status == "ok"
            assert kernel.run(f"%mpipanel attach {session}").status == "ok"
            flood_is_capped_and_the_kernel_responsive(kernel)
            assert kernel.run("%mpipanel detach").status == "ok"
        finally:
            kernel.close()
        assert process.poll() is None
