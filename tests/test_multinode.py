"""A multi-node rehearsal on one machine: a hostfile, and ranks that see a different host name.

MPICH's hydra reads the hostfile; `unshare --uts` gives ranks 2 and 3 their own host name
("nodeb"), so the client sees servers on two hosts: their processor names, the doorbell
connection from a "remote" host (no loopback shortcut), and the overview's grouping by host.
"""
from __future__ import annotations

import json
import os
import subprocess

from mpi_helpers import OPEN_MPI, REPO, mpiexec_command, script_file

SCRIPT = """
    import json, os
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtWidgets import QApplication
    from core import MPICommandClient
    from app.bridge import own_session
    from app.main_window import MainWindow
    from doorbell_binds import binds
    app = QApplication([])
    client = MPICommandClient(print_output=False, session_log=False)
    client.start_services()
    hosts = {rank: status["processor"] for rank, status in client.get_server_status().items()}
    answers = client.push_command_request("__import__('socket').gethostname()", block=True,
                                          target_server=client.server_ranks())
    session = own_session(client)
    window = MainWindow(session, closing="detach")
    while window.bridge.model is None:
        app.processEvents()
    groups = {host: item.childCount() for host, item in window.overview.hosts.items()}
    print(json.dumps({"hosts": hosts, "answers": [r["ret"] for r in answers], "groups": groups,
                      "binds": binds}))
    window.close()
    window.deleteLater()
    app.processEvents()
    session.frontend.host.close()
    client.stop_services()
"""


def test_servers_on_two_hosts_are_shown_and_grouped_by_host(tmp_path):
    script = script_file(tmp_path, SCRIPT, "rehearsal.py")
    hostfile = tmp_path / "hosts"
    hostfile.write_text("localhost slots=4\n" if OPEN_MPI else "localhost:2\nlocalhost:2\n")
    first = mpiexec_command(2, "-f", str(hostfile))
    python = first[-1]
    command = [*first, "-m", "core", str(script), ":", "-n", "2", "unshare", "--uts", "sh", "-c",
               f"hostname nodeb && exec {python} -m core {script}"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'tests'}"})
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    here = report["hosts"]["1"]
    assert report["hosts"] == {"1": here, "2": "nodeb", "3": "nodeb"}
    assert report["answers"] == [here, "nodeb", "nodeb"]
    assert report["groups"] == {here: 1, "nodeb": 2}
    [bound] = report["binds"]  # loopback for the server on this host, the route to nodeb's for the others
    assert bound[0] == "127.0.0.1" and len(bound) == 2 and bound[1] not in ("0.0.0.0", "")
