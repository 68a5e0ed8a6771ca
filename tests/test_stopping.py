"""Stopping a client: each server is told, confirms, and leaves nothing behind for the next client
that the same process starts."""
from __future__ import annotations

from core import MPICommandClient
from mpi_helpers import wait_for_no_servers


def _states(client: MPICommandClient) -> dict[int, str]:
    return {rank: status["state"] for rank, status in client.get_server_status().items()}


def test_clients_started_and_stopped_in_turn_in_one_process_stop_every_server_cleanly():
    """A server that ends closes its doorbell connection just after its last envelope, STOPPED.
    The client saw the close first in 1 stop of 3 and called that server lost, leaving its STOPPED
    in MPI's queue. MPICH gave a later client's communicator the same context id, and that client
    took the old STOPPED for its own server's: it never told that server to stop, and the server,
    left serving, ended MPICH's launcher of the process (in CI, 26 later tests failed)."""
    for _ in range(8):
        client = MPICommandClient(servers=2, print_output=False, session_log=False)
        client.start_services()
        assert _states(client) == {1: "idle", 2: "idle"}
        client.push_command_request("1", block=True, target_server=[1, 2])
        pids = [status["pid"] for status in client.get_server_status().values()]
        client.stop_services()
        assert _states(client) == {1: "stopped", 2: "stopped"}
        assert wait_for_no_servers(pids)
