"""casampi's `MPIEnvironment`: class attributes saying where this process stands, set at import.

casampi computes them from MPI; here they come from mpipanel's own picture (`core.environment`),
with one addition casampi never needed: a server's *worker* (the process that runs its commands,
without MPI) says MPI is enabled and that it is not the client, as a casampi server would, so a
CASA task given a Multi-MS on a server does not fan out again (casatasks'
`ParallelDataHelper.isMMSAndNotServer`). Code running a server's commands knows its server's rank
from `SERVER_RANK_VARIABLE` and never imports mpi4py here.

In the client MPI is always enabled: mpipanel spawns servers when it was not started by mpiexec.
`mpi_world_size` counts the running client's servers, or before the start those the client will
spawn (`MPIPANEL_SERVERS`, else min(4, CPU count)), so `mpi_server_rank_list()` is right before the
services start, as casampi's tests expect.

The client's picture is `core.MPIEnvironment`, not `core.environment`'s directly: in rank 0's
client-side worker (`core.console`, where code typed for the Client target runs, without MPI)
it is the proxy of the window's, so casampi there is the session's MPI client with the window's
servers, and CASA's tasks fan out from it.
"""
from __future__ import annotations

import os
import socket

from core.wire.messages import SERVER_RANK_VARIABLE


def _where() -> tuple[str, int, int | None]:
    """(role, rank, world size): role 'client' or 'server' (where a server's commands run: its
    worker, or the rank itself with isolation 'none'); a server does not know the world size."""
    server_rank = os.environ.get(SERVER_RANK_VARIABLE)
    if server_rank is not None:
        return "server", int(server_rank), None
    from core import MPIEnvironment as native
    if not native.is_mpi_client:
        return "server", native.mpi_processor_rank, None
    from core.environment import default_server_count
    servers = native.mpi_server_rank_list()  # empty in a spawning client not yet started
    return "client", 0, len(servers) + 1 if servers else default_server_count() + 1


def _mpi_library() -> str:
    from core import MPIEnvironment as native
    return native.mpi_library


class MPIEnvironment:
    """Where this process stands in the job, as casampi's `MPIEnvironment` says it."""

    _role, mpi_processor_rank, mpi_world_size = _where()
    hostname = socket.gethostname()
    mpi_initialized = is_mpi_client = _role == "client"
    """A server's commands run in a process without MPI (its worker): only the client says True."""
    is_mpi_enabled = True
    mpi_client_rank = 0
    mpi_pid = os.getpid()
    mpi_execution_role = "MPIClient" if is_mpi_client else f"MPIServer-{mpi_processor_rank}"
    mpi_vendor_str = _mpi_library() if is_mpi_client else ""
    mpi_version_str = mpi_vendor_str
    mpi_vendor_version_str = mpi_vendor_str
    mpi_version_info = None
    mpi_vendor_info = None
    mpi_thread_safe_level = -1
    mpi_thread_safe_level_str = "not applicable: mpipanel serialises its own MPI calls"
    is_mpi_thread_safe = True
    mpi_error_msg = ""
    mpi_initialization_error_msg = ""
    mpi_info_msg = (f"MPI Enabled at host {hostname} with rank {mpi_processor_rank} as "
                    f"{mpi_execution_role} using MPI version {mpi_version_str} from mpipanel implementation ")
    processor_origin = f"@{hostname}:{mpi_execution_role}"
    log_to_console = True
    command_handling_log_level = "NORMAL"
    """casampi's server-side logging level name; `MPICommandClient.set_log_level` sets it."""
    mpi_any_tag = -1
    mpi_any_source = -1

    # casampi's polling periods and time-outs. mpipanel does not poll: its servers and client
    # wake on messages, and a server is declared timed out by the client's heartbeat check
    # (`core.MPICommandClient(heartbeat_timeout=...)`). Kept so code reading them still runs.
    mpi_start_service_sleep_time = 0.1
    mpi_stop_service_sleep_time = 3
    mpi_check_start_service_sleep_time = 0.1
    mpi_check_stop_service_sleep_time = 0.1
    mpi_monitor_status_service_heartbeat = 5
    mpi_ping_status_request_handler_service_sleep_time = 3
    mpi_ping_status_response_handler_service_sleep_time = 3
    mpi_command_request_handler_service_sleep_time = 0.1
    mpi_command_response_handler_service_sleep_time = 0.1
    mpi_command_request_queue_service_sleep_time = 0.1
    mpi_push_command_request_block_mode_sleep_time = 0.1
    mpi_monitor_status_service_timeout_enabled = True
    mpi_monitor_status_service_timeout = (1 + 3 + ((mpi_world_size or 2) - 1) + 3 + 5) * 3
    mpi_ping_status_request_handler_service_timeout = (0.5 + ((mpi_world_size or 2) - 1) + 3 + 5) * 3

    @staticmethod
    def mpi_server_rank_list() -> list[int]:
        """The servers' ranks (a new list each time): the running client's, else those it will have."""
        if MPIEnvironment._role != "client":
            return []
        from core import MPIEnvironment as native
        return native.mpi_server_rank_list() or list(range(1, MPIEnvironment.mpi_world_size))

    @classmethod
    def is_mpi_disabled_or_client(cls) -> bool:
        return not cls.is_mpi_enabled or cls.is_mpi_client

    @staticmethod
    def mpi_comm_world_factory():
        raise NotImplementedError("MPIEnvironment.mpi_comm_world_factory(): mpipanel's client and servers "
                                  "talk over their own communicators; it lends none of them out")

    @staticmethod
    def finalize_mpi_environment() -> None:
        raise NotImplementedError("MPIEnvironment.finalize_mpi_environment(): mpipanel finalizes MPI itself "
                                  "when the client stops its services (MPICommandClient().stop_services())")

    @classmethod
    def abort_mpi_environment(cls) -> None:
        if not cls.is_mpi_client:
            raise NotImplementedError("MPIEnvironment.abort_mpi_environment(): only the client may end the "
                                      "job; a server's commands run where there is no MPI to abort")
        from mpi4py import MPI
        MPI.COMM_WORLD.Abort()

    @staticmethod
    def setup_logger(origin, show):
        raise NotImplementedError("MPIEnvironment.setup_logger(): casampi's log set-up of its own "
                                  "services; mpipanel's servers log through Python's `logging`")
