"""A preload sets up every server's namespace, and every fresh one, in both launch and isolation modes."""
from __future__ import annotations

import json
import threading

import pytest
from mpi_helpers import recorded_events, run_mpiexec, run_python, script_file

PRELOAD = "import os, math\nPRELOADED_RANK = int(os.environ['MPIPANEL_SERVER_RANK'])\nPRELOAD_PID = os.getpid()"


def _preloaded(client, ranks):
    """`PRELOADED_RANK` on each of `ranks` (the push fails where the preload did not run)."""
    responses = client.push_command_request("PRELOADED_RANK, math.pi", block=True, target_server=ranks)
    assert all(r["successful"] for r in responses), [r["traceback"] for r in responses]
    return [r["ret"][0] for r in responses]


@pytest.mark.parametrize("isolation", ["process", "none"])
def test_preload_runs_on_every_server_and_again_after_a_restart(tmp_path, isolation):
    from core import MPICommandClient
    with MPICommandClient(servers=2, isolation=isolation, print_output=False, preload=PRELOAD,
                          session_log=tmp_path / "session.jsonl") as client:
        assert _preloaded(client, [1, 2]) == [1, 2]
        client.push_command_request("PRELOADED_RANK = -1", block=True, target_server=2)
        client.restart_server(2).result(30)
        [fresh] = client.push_command_request("PRELOADED_RANK", block=True, target_server=2)
        assert fresh["ret"] == 2 and fresh["namespace_reset"] is True
    header = json.loads((tmp_path / "session.jsonl").read_text().splitlines()[0])
    assert header["preload"] == PRELOAD


def test_a_worker_that_died_is_replaced_by_a_preloaded_one():
    from core import MPICommandClient
    with MPICommandClient(servers=1, print_output=False, preload=PRELOAD, session_log=False) as client:
        [before] = client.push_command_request("PRELOAD_PID", block=True, target_server=1)
        client.push_command_request("import os; os._exit(3)", block=True, target_server=1)
        [after] = client.push_command_request("PRELOAD_PID, PRELOADED_RANK", block=True, target_server=1)
        assert after["successful"] and after["ret"][1] == 1 and after["ret"][0] != before["ret"]


def test_preload_from_a_file_is_read_on_the_client(tmp_path):
    from core import MPICommandClient
    path = tmp_path / "setup_servers.py"
    path.write_text(PRELOAD)
    with MPICommandClient(servers=2, print_output=False, preload=str(path), session_log=False) as client:
        assert client.preload == PRELOAD
        assert _preloaded(client, [1, 2]) == [1, 2]


def test_a_failing_preload_is_logged_and_shown_in_the_status_and_the_server_serves_on():
    from core import MPICommandClient, events
    client = MPICommandClient(servers=1, print_output=False, session_log=False,
                              preload="import os\nFIRST = 1\n1 / 0\nNEVER = 2")
    reported = threading.Event()
    client.subscribe(lambda e: isinstance(e, events.ServerStatusChanged)
                     and e.status["preload_error"] is not None and reported.set())
    with recorded_events(client) as seen:
        client.start_services()
        try:
            [response] = client.push_command_request("FIRST, 'NEVER' in globals()", block=True, target_server=1)
            assert response["successful"] and response["ret"] == (1, False)
            assert reported.wait(10)
            error = client.get_server_status()[1]["preload_error"]
        finally:
            client.stop_services()
    assert error.startswith("Traceback") and 'File "<preload>", line 3, in <module>' in error
    assert error.rstrip().endswith("ZeroDivisionError: division by zero")
    records = [item for e in seen if isinstance(e, events.ServerOutput)
               for item in e.items if getattr(item, "logger", None) == "mpipanel.preload"]
    assert [(r.level, r.message) for r in records] == [
        (40, "The preload of server 1 failed; its commands run without the rest of it:\n" + error)]


def test_preload_with_a_syntax_error_is_refused_on_the_client():
    from core import MPICommandClient
    with pytest.raises(ValueError, match="preload has a syntax error at line 2"):
        MPICommandClient(servers=1, preload="import os\nx = = 1")
    with pytest.raises(ValueError, match="preload file 'missing_setup.py' cannot be read"):
        MPICommandClient(servers=1, preload="missing_setup.py")


SCRIPT = """
    from core import MPICommandClient
    client = MPICommandClient(print_output=False, session_log=False)
    client.start_services()
    print(sorted(r['ret'] for r in client.push_command_request('PRELOADED_RANK', block=True,
                                                               target_server=[1, 2])))
    client.save_session({saved!r})
"""


@pytest.mark.parametrize("launch", ["mpiexec", "spawn"])
def test_python_m_core_preload_sets_up_the_servers_of_the_program(tmp_path, launch):
    saved = tmp_path / "saved.py"
    script = script_file(tmp_path, SCRIPT.format(saved=str(saved)))
    args = ("-m", "core", "--preload", PRELOAD, str(script))
    done = (run_mpiexec(3, *args) if launch == "mpiexec"
            else run_python(*args, env={"MPIPANEL_SERVERS": "2"}))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[1, 2]"]
    from core.sessions.recorded import read_script
    header, _ = read_script(saved)
    assert header["preload"] == PRELOAD


def test_python_m_core_refuses_a_preload_file_that_does_not_exist(tmp_path):
    done = run_python("-m", "core", "--preload", str(tmp_path / "nope.py"), "-c", "pass")
    assert done.returncode == 2 and "preload file" in done.stderr and "cannot be read" in done.stderr
