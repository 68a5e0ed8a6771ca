"""A window attached over ssh (a real sshd on localhost, fixture `sshd`) to a headless session: it
shows the session, sends commands, says at once that the link dropped when its ssh is killed and
that it is back, with the session log's history; the session log of the session's machine opens
through ssh; File > Attach…'s host field makes an ssh target; ssh's failures reach the attach
dialog, and `mpipanel --attach ssh://…` on the command line, as one clear message. A window watches
a batch job on the one-node Slurm cluster (fixture `slurm`) with the line its output names.

The window's ssh is the test's (`$MPIPANEL_SSH`, as a user with an ssh config of its own would set
it), the far side's Python runs this tree (`--remote-python`)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from batch_jobs import TIMEOUT, attach_line, node_login, pipeline_done, submit_example
from gui_helpers import attached_window, sent, settled, window_history
from mpi_helpers import REPO, history_rows, logged_history, serving
from services import SshLogin


@pytest.fixture(scope="module")
def headless(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("headless")
    with serving(tmp, 2) as (process, session, env):
        yield process, session, Path(env["XDG_RUNTIME_DIR"])


@pytest.fixture
def window_ssh(sshd, monkeypatch):
    monkeypatch.setenv("MPIPANEL_SSH", " ".join(sshd.ssh))
    return sshd


def test_a_window_attached_over_ssh_says_the_link_dropped_and_comes_back_with_the_logs_history(
        qtbot, headless, window_ssh, monkeypatch):
    process, session, runtime = headless
    window = attached_window(qtbot, f"ssh://{SshLogin.HOST}/{session}", remote_python=SshLogin.far_python(runtime))
    link = window.findChild(type(window.message), "linkLabel")
    assert link.text() == f"attached to {session} on {window.bridge.info.host} · link up"
    [before] = sent(qtbot, window, "'before the drop'", [1])
    qtbot.waitUntil(lambda: settled(window) and before in [row[0] for row in window_history(window)])
    psutil.Process(window.bridge.frontend.endpoint.process.pid).kill()
    qtbot.waitUntil(lambda: link.text().startswith("link down: "), timeout=TIMEOUT * 1000)
    assert link.text().endswith(" · reconnecting…")
    qtbot.waitUntil(lambda: link.text().endswith(" · link up"), timeout=TIMEOUT * 1000)
    [after] = sent(qtbot, window, "'after the drop'", [2])
    qtbot.waitUntil(lambda: settled(window) and after in [row[0] for row in window_history(window)],
                    timeout=TIMEOUT * 1000)
    assert window_history(window) == logged_history(window.bridge.info.session_log_path)
    opened = []
    monkeypatch.setattr("app.session_status.open_with_desktop", opened.append)
    window.session.log_label.opener(window.session.log_label.path)
    qtbot.waitUntil(lambda: bool(opened), timeout=TIMEOUT * 1000)
    assert Path(opened[0]).read_text() == Path(window.bridge.info.session_log_path).read_text()
    window.session.detach_action.trigger()
    assert process.poll() is None


def test_the_attach_dialogs_host_field_makes_an_ssh_target(qtbot):
    from app.attach_dialog import AttachDialog
    dialog = AttachDialog(lambda: [])
    qtbot.addWidget(dialog)
    assert dialog.chosen() is None and not dialog.attach_button.isEnabled()
    qtbot.keyClicks(dialog.host, "ana@node017:2222/3f2a9c1e")
    qtbot.keyClicks(dialog.python, "~/venvs/mpipanel/bin/python")
    assert dialog.chosen() == "ssh://ana@node017:2222/3f2a9c1e" and dialog.attach_button.isEnabled()
    assert dialog.remote_python() == "~/venvs/mpipanel/bin/python"


def test_an_unknown_host_key_reaches_the_attach_dialog_as_one_message(qtbot, headless, sshd, tmp_path, monkeypatch):
    from app.attaching import open_attached
    _process, session, runtime = headless
    empty = tmp_path / "known_hosts"
    empty.touch()
    monkeypatch.setenv("MPIPANEL_SSH", " ".join(sshd.changed("window-unknown-key", known_hosts=empty).ssh))
    failures = []
    bridge = open_attached(f"ssh://{SshLogin.HOST}/{session}", lambda bridge: pytest.fail("no window opens"),
                           on_failure=failures.append, remote_python=SshLogin.far_python(runtime))
    assert bridge is not None  # ssh runs on a thread of its own; its failure comes later
    qtbot.waitUntil(lambda: bool(failures), timeout=TIMEOUT * 1000)
    assert failures[0].startswith(f"ssh does not know the host key of {SshLogin.HOST}, and mpipanel's ssh never asks")


def test_mpipanel_attach_over_ssh_says_why_it_cannot(headless, sshd):
    _process, session, _runtime = headless
    done = subprocess.run([sys.executable, "-m", "app", "--attach", f"ssh://{SshLogin.HOST}/{session}",
                           "--remote-python", "/usr/bin/python3"], capture_output=True, text=True, timeout=TIMEOUT,
                          env={**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen",
                               "MPIPANEL_SSH": " ".join(sshd.ssh)})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        f"mpipanel: cannot attach: mpipanel is not installed for /usr/bin/python3 on {SshLogin.HOST}; pass "
        f"--remote-python (or set $MPIPANEL_REMOTE_PYTHON) to the interpreter of an environment that has it, e.g. "
        f"--remote-python ~/venvs/mpipanel/bin/python")


@pytest.mark.timeout(400)
def test_a_window_watches_a_batch_job_detaches_and_comes_back_to_the_logs_history(
        qtbot, slurm, sshd, tmp_path, monkeypatch):
    job = submit_example(slurm, "srun.sbatch", "window", linger_minutes=0.75)
    url, node = attach_line(slurm, job).group(2, 3)
    monkeypatch.setenv("MPIPANEL_SSH", " ".join(node_login(sshd, node, tmp_path)))
    window = attached_window(qtbot, url, remote_python=SshLogin.far_python())
    assert window.targets.states.keys() == {1, 2, 3, 4} and "listen" in window.windowTitle()
    qtbot.waitUntil(lambda: pipeline_done(window.bridge.model), timeout=TIMEOUT * 1000)
    [command_id] = sent(qtbot, window, "process(100, 0)", [2])
    qtbot.waitUntil(lambda: settled(window) and command_id in [row[0] for row in window_history(window)],
                    timeout=TIMEOUT * 1000)
    window.session.detach_action.trigger()
    again = attached_window(qtbot, url, remote_python=SshLogin.far_python())
    qtbot.waitUntil(lambda: settled(again), timeout=TIMEOUT * 1000)
    assert window_history(again) == history_rows(again.bridge.frontend.session_log())
    assert window_history(again)[-1][1:4] == ["process(100, 0)", 2, "done"]
    link = again.findChild(type(again.message), "linkLabel")
    qtbot.waitUntil(lambda: link.text().startswith("session ended:"), timeout=TIMEOUT * 1000)
    assert slurm.wait_until_ended(job) == "COMPLETED", job.read_output()
    again.close()
