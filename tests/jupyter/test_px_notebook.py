"""A notebook run end to end by nbclient on a real kernel and two real servers: output tagged by
server, values as IPython shows them, failures that raise, time limits, non-blocking cells,
%autopx, a server that dies, and one history in the session log."""
from __future__ import annotations

import importlib.util
import json
import re

import pytest

from notebook_helpers import error_of, plain_of, run_notebook, text_of

HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
HAS_PANDAS = importlib.util.find_spec("pandas") is not None

CELLS = {
    "load": "%load_ext core.jupyter",
    "start": "%mpipanel start -n 2",
    "stream": ("%%px\nimport logging, sys, time\nfor i in range(3):\n    print('tick', i, flush=True)\n"
               "    time.sleep(0.2)\nlogging.getLogger('calib').warning('low flux')\n"
               "print('careful', file=sys.stderr)\nx = 40\nx + 2"),
    "array": "%px --targets 1 import numpy as np; np.arange(6).reshape(2, 3)",
    "figure": ("%%px --targets 2\nimport matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
               "figure, axes = plt.subplots(figsize=(2, 2))\naxes.plot([1, 3, 2])\nfigure"),
    "frame": "%%px --targets 1\nimport pandas\npandas.DataFrame({'flux': [1.5, 2.5]})",
    "error": "%%px\nvalue = 1\nvalue / (value - 1)",
    "after error": "%px x",
    "timeout": "%%px --timeout 1\nimport time\nprint('sleeping', flush=True)\ntime.sleep(60)",
    "noblock": "%px --noblock import time; time.sleep(0.5); print('late', flush=True); x * 2",
    "result": "%pxresult",
    "autopx on": "%autopx",
    "on servers": "y = x + 1\ny",
    "autopx off": "%autopx",
    "in kernel": "y = 'kernel'\ny",
    "servers kept y": "%px y",
    "make deaf": "%px --targets 2 import signal; signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT});",
    "deaf": "%%px --targets 2 --timeout 1\nimport time\ntime.sleep(60)",
    "after deaf": "%px 'x' in dir()",
    "death": "%px --targets 2 import os; os._exit(3)",
    "after death": "%px 'alive'",
    "bad targets": "%px --targets 1-x 1",
    "status": "%mpipanel status",
    "stop": "%mpipanel stop",
}
SHOWN = [name for name in CELLS if (name != "figure" or HAS_MATPLOTLIB) and (name != "frame" or HAS_PANDAS)]


@pytest.fixture(scope="module")
def notebook(tmp_path_factory):
    state = tmp_path_factory.mktemp("notebook")
    executed = run_notebook([CELLS[name] for name in SHOWN], state)
    return {name: cell for name, cell in zip(SHOWN, executed.cells)}, state


def _count(cell) -> int:
    return cell["execution_count"]


def test_the_servers_start_and_say_where_the_session_log_is(notebook):
    cells, _ = notebook
    assert re.match(r"mpipanel: 2 servers ready \(1, 2\); session log: .*\.jsonl\n", text_of(cells["start"]))


def test_output_streams_in_tagged_by_stream_and_server(notebook):
    cells, _ = notebook
    stdout, stderr = text_of(cells["stream"], "stdout"), text_of(cells["stream"], "stderr")
    for server in (1, 2):
        assert [line for line in stdout.splitlines() if line.startswith(f"[stdout:{server}]")] == \
            [f"[stdout:{server}] tick {i}" for i in range(3)]
        assert f"[stderr:{server}] careful\n" in stderr
        assert f"[log:{server}] WARNING calib: low flux\n" in stderr


def test_a_cell_ending_in_an_expression_shows_each_servers_value(notebook):
    cells, _ = notebook
    count = _count(cells["stream"])
    assert [text for text in plain_of(cells["stream"]) if text.startswith("Out[")] == \
        [f"Out[1:{count}]: 42", f"Out[2:{count}]: 42"]


def test_an_array_shows_as_numpy_shows_it(notebook):
    cells, _ = notebook
    assert plain_of(cells["array"]) == [f"Out[1:{_count(cells['array'])}]:\narray([[0, 1, 2],\n       [3, 4, 5]])"]


@pytest.mark.skipif(not HAS_MATPLOTLIB, reason="matplotlib is not installed")
def test_a_figure_shows_as_an_image(notebook):
    cells, _ = notebook
    images = [output for output in cells["figure"].outputs if "image/png" in output.get("data", {})]
    assert plain_of(cells["figure"])[0] == f"Out[2:{_count(cells['figure'])}]:" and len(images) == 1


@pytest.mark.skipif(not HAS_PANDAS, reason="pandas is not installed")
def test_a_data_frame_shows_as_a_table(notebook):
    cells, _ = notebook
    assert any("<table" in output.get("data", {}).get("text/html", "") for output in cells["frame"].outputs)


def test_a_failing_cell_raises_with_each_servers_traceback_cut_to_the_failing_frame(notebook):
    cells, _ = notebook
    error = error_of(cells["error"])
    assert (error["ename"], error["evalue"]) == ("PxCellError", "the cell failed on servers 1, 2")
    text = "\n".join(error["traceback"])
    assert re.search(r"\[servers 1, 2 \(commands \d+, \d+\): failed\]", text)
    assert "line 2, in <module>" in text and "ZeroDivisionError: division by zero" in text
    assert "core/jupyter" not in text  # the magic's own frames are not the user's


def test_the_cells_after_an_error_run_on_the_same_namespaces(notebook):
    cells, _ = notebook
    count = _count(cells["after error"])
    assert plain_of(cells["after error"]) == [f"Out[1:{count}]: 40", f"Out[2:{count}]: 40"]


def test_a_time_limit_interrupts_the_cells_commands_on_their_servers_and_raises(notebook):
    cells, _ = notebook
    error = error_of(cells["timeout"])
    assert error["ename"] == "PxCellError"
    assert "expired: stopped by --timeout 1]" in "\n".join(error["traceback"])
    assert "Time limit expired" in "\n".join(error["traceback"])


def test_a_command_deaf_to_the_interrupt_has_its_worker_killed_after_the_grace(notebook):
    cells, _ = notebook
    error = error_of(cells["deaf"])
    assert "expired: stopped by --timeout 1]" in "\n".join(error["traceback"])
    assert "was killed" in "\n".join(error["traceback"])
    count = _count(cells["after deaf"])
    assert plain_of(cells["after deaf"]) == [f"Out[1:{count}]: True", f"Out[2:{count}]: False"]
    assert "[server 2 started afresh" in text_of(cells["after deaf"], "stderr")


def test_a_non_blocking_cell_returns_at_once_and_pxresult_shows_its_output_and_values(notebook):
    cells, _ = notebook
    assert re.match(r"%px: sent to servers 1, 2 \(commands \d+, \d+\); %pxresult waits", text_of(cells["noblock"]))
    assert plain_of(cells["noblock"]) == []
    assert "[stdout:1] late\n" in text_of(cells["result"]) and "[stdout:2] late\n" in text_of(cells["result"])
    count = _count(cells["noblock"])
    assert [t for t in plain_of(cells["result"]) if t.startswith("Out")] == [f"Out[1:{count}]: 80",
                                                                          f"Out[2:{count}]: 80"]


def test_autopx_sends_every_cell_to_the_servers_until_turned_off(notebook):
    cells, _ = notebook
    assert text_of(cells["autopx on"]).startswith("%autopx on")
    count = _count(cells["on servers"])
    assert plain_of(cells["on servers"]) == [f"Out[1:{count}]: 41", f"Out[2:{count}]: 41"]
    assert text_of(cells["autopx off"]).startswith("%autopx off")
    assert plain_of(cells["in kernel"]) == ["'kernel'"]
    count = _count(cells["servers kept y"])
    assert plain_of(cells["servers kept y"]) == [f"Out[1:{count}]: 41", f"Out[2:{count}]: 41"]


def test_a_server_whose_worker_dies_is_reported_and_the_notebook_goes_on(notebook):
    cells, _ = notebook
    error = error_of(cells["death"])
    assert error["evalue"] == "the cell failed on server 2"
    assert "exited with code 3" in "\n".join(error["traceback"])
    count = _count(cells["after death"])
    assert plain_of(cells["after death"]) == [f"Out[1:{count}]: 'alive'", f"Out[2:{count}]: 'alive'"]


def test_bad_targets_are_refused_naming_the_option(notebook):
    cells, _ = notebook
    assert "%px: --targets '1-x'" in text_of(cells["bad targets"], "stderr")


def test_status_shows_a_table_of_the_servers(notebook):
    cells, _ = notebook
    [table] = plain_of(cells["status"])
    lines = table.splitlines()
    assert lines[0].split() == ["server", "state", "pid", "host", "queue", "command"]
    assert [line.split()[:2] for line in lines[1:]] == [["1", "idle"], ["2", "idle"]]


def test_every_px_command_is_in_the_session_log_with_origin_notebook(notebook):
    cells, state = notebook
    assert text_of(cells["stop"]) == "mpipanel: servers stopped\n"
    [log] = (state / "sessions").glob("*.jsonl")
    queued = [entry for entry in map(json.loads, log.read_text().splitlines()) if entry["event"] == "queued"]
    assert queued and {entry["origin"] for entry in queued} == {"notebook"}
    assert queued[0]["command"].rstrip() == CELLS["stream"].split("\n", 1)[1]


def test_run_all_stops_at_a_failing_cell(tmp_path):
    from nbclient.exceptions import CellExecutionError
    with pytest.raises(CellExecutionError, match="PxCellError"):
        run_notebook(["%load_ext core.jupyter", "%mpipanel start -n 1", "%px 1 / 0", "open('ran', 'w')"],
                     tmp_path, allow_errors=False)
    assert not (tmp_path / "ran").exists()
