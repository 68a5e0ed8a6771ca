"""The casampi client adapter's own promises: one client per process, casampi's statuses and
keys, None (not an exception) for requests casampi rejects, MPIInterface's calls, and an error
naming the call for what mpipanel cannot do. One script under `python -m core --casa`, whose
servers start once; each check prints a line the tests read."""
from __future__ import annotations

import pytest

from core.casa.offline import private_config
from mpi_helpers import run_python, script_file

pytestmark = pytest.mark.timeout(300)

SCRIPT = """
    from casampi.MPICommandClient import MPICommandClient
    from casampi.MPIInterface import MPIInterface
    from casampi.private.MPIMonitorClient import MPIMonitorClient

    def check(name, value):
        print(f"{name}: {value!r}", flush=True)

    client = MPICommandClient()
    check("state before start", client.get_lifecyle_state())
    check("push before start", client.push_command_request("1", True, 1))
    client.start_services()
    client.start_services()
    again = MPICommandClient()
    check("one client", again.get_lifecyle_state() == 1 and again.native is client.native)
    ids = client.push_command_request("import time; time.sleep(0.5); x = 7", False, 1)
    check("status while running", client.get_command_request_list()[ids[0]]["status"] in
          ("holding queue", "request sent"))
    response, = client.get_command_response(ids, True, True)
    check("response keys", sorted(response))
    check("status when done", (response["status"], client.get_command_request_list()[ids[0]]["status"]))
    check("state kept", client.push_command_request("x", True, 1)[0]["ret"])
    statements, = client.push_command_request("y = x\\ny + 1", True, 1)
    check("exec value", (statements["mode"], statements["ret"], statements["value"]))
    check("unpicklable exec value", repr(client.push_command_request("import os\\nos", True, 1)[0]["value"]))
    check("call with parameters", client.push_command_request("dict()", True, 2, {"a": 7, "b": 2})[0]["ret"])
    check("parameters deleted", client.push_command_request("a", True, 2)[0]["traceback"].splitlines()[-1])
    check("push keeps them", [r["successful"] for r in client.push_command_request("push", True, [1, 2], {"p": 5})])
    check("pushed", client.push_command_request("p * 2", True, [1, 2])[0]["ret"])
    check("bad syntax", client.push_command_request("1 +* 2", True))
    check("unknown server", client.push_command_request("1", True, 9))
    check("string target", client.push_command_request("1", True, "1"))
    check("empty list", client.push_command_request("1", True, []))
    check("unknown status server", client.get_server_status(9))
    check("status keys", sorted(client.get_server_status(1)))

    cluster = MPIInterface.getCluster()
    core = cluster._cluster
    check("engines", core.get_engines())
    check("pgc", [r["ret"] for r in core.pgc("p + 1")])
    core.push({"q": 11}, [2])
    check("pull", core.pull("q", [2]))
    job = core.odo("1/0", [1])
    client.get_command_response(job, True, False)
    try:
        core.check_job(job)
    except Exception as exc:
        check("check_job raises", str(exc).splitlines()[0])
    try:
        MPIMonitorClient().set_server_status_keyword(1, "busy", True)
    except NotImplementedError as exc:
        check("cannot honour", str(exc).split(":")[0])

    client.stop_services()
    check("state after stop", client.get_lifecyle_state())
    client.start_services()
    check("push after stop", client.push_command_request("1", True, 1))
"""


@pytest.fixture(scope="module")
def checks(tmp_path_factory) -> dict[str, str]:
    directory = tmp_path_factory.mktemp("adapter")
    env = {**private_config(directory), "MPIPANEL_SERVERS": "2"}
    result = run_python("-m", "core", "--casa", str(script_file(directory, SCRIPT)), env=env, cwd=directory,
                        timeout=240)
    assert result.returncode == 0, result.stderr
    return dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)


def test_client_is_one_per_process_and_does_not_restart(checks):
    assert checks["state before start"] == "0"
    assert checks["one client"] == "True"
    assert checks["state after stop"] == "2"


def test_requests_outside_the_life_cycle_return_none(checks):
    assert checks["push before start"] == "None"
    assert checks["push after stop"] == "None"


def test_responses_have_casampis_keys_and_statuses(checks):
    assert checks["status while running"] == "True"
    assert checks["response keys"] == repr(sorted(["command", "parameters", "mode", "id", "server", "status",
                                                   "command_start_time", "command_stop_time", "ret",
                                                   "value", "successful", "traceback"]))
    assert checks["status when done"] == "('response received', 'response received')"


def test_an_exec_commands_ret_stays_none_and_its_trailing_value_comes_as_value(checks):
    assert checks["exec value"] == "('exec', None, 8)"
    assert checks["unpicklable exec value"].startswith("\"<module 'os'")


def test_parameters_are_names_for_one_command_unless_pushed(checks):
    assert checks["state kept"] == "7"
    assert checks["call with parameters"] == "{'a': 7, 'b': 2}"
    assert checks["parameters deleted"] == repr("NameError: name 'a' is not defined")
    assert checks["push keeps them"] == "[True, True]"
    assert checks["pushed"] == "10"


def test_rejected_requests_return_none(checks):
    for name in ("bad syntax", "unknown server", "string target", "empty list", "unknown status server"):
        assert checks[name] == "None", name


def test_server_status_has_casampis_keys(checks):
    assert checks["status keys"] == repr(sorted(["rank", "processor", "pid", "worker_pid", "busy", "command",
                                                 "command_start_time", "pong_pending", "ping_time",
                                                 "pong_time", "timeout"]))


def test_mpi_interface_runs_on_every_engine(checks):
    assert checks["engines"] == "[1, 2]"
    assert checks["pgc"] == "[6, 6]"
    assert checks["pull"] == "{2: 11}"
    assert checks["check_job raises"] == "'Exception executing command in server 1: Traceback (most recent call last):'"


def test_a_call_mpipanel_cannot_honour_raises_naming_it(checks):
    assert checks["cannot honour"] == "'MPIMonitorClient.set_server_status_keyword()'"
