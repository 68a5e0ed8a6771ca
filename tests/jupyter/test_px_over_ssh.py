"""A notebook attached over ssh (`%mpipanel attach ssh://HOST/SESSION_ID`) to a headless session,
through the test sshd of `.ci/services` (fixture `sshd`). The kernel gets its ssh command and the
far side's Python from `$MPIPANEL_SSH` and `$MPIPANEL_REMOTE_PYTHON`, as a user's notebook would
(the magic has no options for them): the far side runs this tree and finds the session in the
session's runtime directory."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from mpi_helpers import logged_history, serving
from notebook_helpers import Kernel
from services import SshLogin

pytest.importorskip("ipykernel")
pytest.importorskip("jupyter_client")

CELL = "%%px\nprint('over ssh', flush=True)\nanswer = 6 * 7\nanswer"


def test_a_notebook_attached_over_ssh_streams_shows_values_and_is_logged_with_origin_notebook(sshd, tmp_path):
    import core
    with serving(tmp_path, 2) as (process, session, env):
        kernel = Kernel(tmp_path, MPIPANEL_SSH=shlex.join(sshd.ssh),
                        MPIPANEL_REMOTE_PYTHON=sshd.far_python(Path(env["XDG_RUNTIME_DIR"])))
        try:
            assert kernel.run("%load_ext core.jupyter").status == "ok"
            attached = kernel.run(f"%mpipanel attach ssh://{SshLogin.HOST}/{session}")
            assert attached.status == "ok", attached.messages
            assert f"attached to session {session} (serve, pid {process.pid} on " in attached.streams("stdout")
            cell = kernel.run(CELL)
            assert cell.status == "ok", cell.messages
            assert sorted(cell.streams("stdout").splitlines()) == ["[stdout:1] over ssh", "[stdout:2] over ssh"]
            assert re.fullmatch(r"Out\[1:(\d+)\]: 42\nOut\[2:\1\]: 42", cell.messages[-1][1]["data"]["text/plain"])
            assert kernel.run("%mpipanel detach").status == "ok"
        finally:
            kernel.close()
        assert process.poll() is None
        with core.attach(session) as program:
            log = program.session_log_path
        assert [(row[1].rstrip(), row[2], row[4]) for row in logged_history(log)] == \
            [(CELL.split("\n", 1)[1], server, "notebook") for server in (1, 2)]
