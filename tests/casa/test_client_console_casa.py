"""Under `--casa`, code for the Client target (rank 0's client-side worker) is a casampi client:
a CASA parallel task typed there fans out to the window's servers, recorded as the client's."""
from __future__ import annotations

import pytest
from casa_console import SUB_MS, casa_console_client

from core.console.host import ConsoleHost
from core.events import CLIENT_RANK

REQUEST = "_casampi_request_"


@pytest.fixture(scope="module")
def casa_console(tmp_path_factory):
    with casa_console_client(tmp_path_factory.mktemp("casa-console")) as (client, mms):
        host = ConsoleHost(client)
        host.mms = mms
        yield host
        host.close()


def _run(console, code: str, timeout: float = 120) -> dict:
    response = console.run(code).result(timeout)
    assert response["successful"], response["traceback"]
    return response


def test_casampi_in_the_client_side_worker_is_the_client_of_the_windows_servers(casa_console):
    _run(casa_console, "import sys\nfrom casampi.MPIEnvironment import MPIEnvironment as E")
    response = _run(casa_console, "E.is_mpi_client, E.mpi_server_rank_list(), E.mpi_world_size, "
                                  "'flagdata' in globals(), 'mpi4py' in sys.modules")
    assert response["ret"] == (True, [1, 2], 3, True, False)


def test_flagdata_over_a_multi_ms_typed_for_the_client_fans_out_to_the_servers(casa_console):
    client, mms = casa_console.client, casa_console.mms
    serial = _run(casa_console, f"flagdata(vis={str(mms.parent / 'sim.ms')!r}, mode='summary')['total']")
    response = _run(casa_console, f"flagdata(vis={str(mms)!r}, mode='summary')['total']")
    assert response["server"] == CLIENT_RANK and response["ret"] == serial["ret"] > 0
    jobs = [r for r in client.commands if r.id > response["id"]]
    assert len(jobs) == SUB_MS and {r.origin for r in jobs} == {"client"}
    assert {r.server for r in jobs} == {1, 2}
    sub_ms = {r.parameters[REQUEST][2]["vis"] for r in jobs}
    assert len(sub_ms) == SUB_MS and all(vis.startswith(str(mms / "SUBMSS")) for vis in sub_ms)
    assert all(r.response["successful"] for r in jobs)


def test_casampi_requests_follow_their_commands_and_the_windows_log_mode_stays(casa_console):
    """The request statuses come from the window client's events, forwarded to the worker."""
    _run(casa_console, "from casampi.MPICommandClient import MPICommandClient as C\nc = C()\nc.start_services()\n"
                       "ids = c.push_command_request('time.sleep(0.5)', target_server=2)\n"
                       "c.wait_for_command_request_sent(ids)")
    assert _run(casa_console, "c.get_command_request_list()[ids[0]]['status']")["ret"] == "request sent"
    assert _run(casa_console, "c.get_command_response(ids, True)[0]['successful'], "
                              "c.get_command_request_list()[ids[0]]['status'], "
                              "c.get_server_status(2)['command']")["ret"] == (
        True, "response received", "time.sleep(0.5)")
    assert casa_console.client.log_mode == "redirect"
