"""A notebook and a window attached to the same headless session (`python -m core --serve`): the
window shows the notebook's `%%px` commands live, as they start and end, with origin 'notebook',
and the script it saves includes them."""
from __future__ import annotations

import pytest

from gui_helpers import attached_window, settled, window_history
from mpi_helpers import logged_history, serving
from notebook_helpers import WAIT_FOR_FILE, Kernel

pytest.importorskip("ipykernel")
pytest.importorskip("jupyter_client")

TIMEOUT = 120


def _notebook_rows(window) -> list:
    return [row for row in window.history.model_.rows if row.origin == "notebook"]


def test_a_window_shows_the_commands_of_a_notebook_attached_to_the_same_session_live(qtbot, tmp_path):
    with serving(tmp_path, 2) as (_process, session, _env):
        window = attached_window(qtbot, session)
        kernel = Kernel(tmp_path)
        try:
            assert kernel.run("%load_ext core.jupyter").status == "ok"
            assert kernel.run(f"%mpipanel attach {session}").status == "ok"
            go = tmp_path / "go"
            running = kernel.client.execute(WAIT_FOR_FILE.format(path=str(go)))
            qtbot.waitUntil(lambda: [row.status for row in _notebook_rows(window)] == ["running"],
                            timeout=TIMEOUT * 1000)
            window.open_pane(1)
            qtbot.waitUntil(lambda: "waiting" in [line.text for line in window.panes[1].output.lines],
                            timeout=TIMEOUT * 1000)
            go.touch()
            qtbot.waitUntil(lambda: [row.status for row in _notebook_rows(window)] == ["done"], timeout=TIMEOUT * 1000)
            assert _notebook_rows(window)[0].response["ret"] == "went"
            assert kernel.reply(running).status == "ok"
            assert kernel.run("%%px\nvalue = 6 * 7\nvalue").status == "ok"
            qtbot.waitUntil(lambda: len(_notebook_rows(window)) == 3 and settled(window), timeout=TIMEOUT * 1000)
            assert [(row.server, row.response["ret"]) for row in _notebook_rows(window)[1:]] == [(1, 42), (2, 42)]
            assert window_history(window) == logged_history(window.bridge.info.session_log_path)
            window.save_script(tmp_path / "saved.py")
            qtbot.waitUntil((tmp_path / "saved.py").exists, timeout=TIMEOUT * 1000)
            saved = (tmp_path / "saved.py").read_text()
            assert "value = 6 * 7" in saved and "print('waiting', flush=True)" in saved
            assert kernel.run("%mpipanel detach").status == "ok"
        finally:
            kernel.close()
        window.session.detach_action.trigger()
