"""mpipanel's GUI-free core: an MPI client (rank 0) that sends Python commands to servers.

    from core import MPICommandClient, MPIEnvironment
    client = MPICommandClient()
    client.start_services()
    client.push_command_request("x = 2 * 21", target_server=1)
    client.push_command_request("x", block=True, target_server=1)  # [{'ret': 42, ...}]

    with core.attach(SESSION_ID) as client: ...  # the same API on a session of another process

Importing this package does not initialise MPI (the worker processes import parts of it and
must never touch MPI); the names below load on first use. It does make this environment's MPI
launcher findable and, when it will spawn its servers, keeps MPI's traffic on loopback
(`core.mpi_launcher`), which must happen before MPI starts.
"""
from __future__ import annotations

from core.module_path import reorder_if_run_with_m

reorder_if_run_with_m()  # first: under `python -m core`, before any other import

from typing import TYPE_CHECKING

from core.mpi_launcher import keep_spawn_local, make_launcher_findable, prepare_open_mpi

__version__ = "0.1.0"
__all__ = ["MPICommandClient", "MPIEnvironment", "CommandFuture", "CommandResponse", "Status", "DataMoveError",
           "attach", "AttachedClient", "events", "__version__"]

if TYPE_CHECKING:
    from core import events
    from core.client.command_client import MPICommandClient
    from core.environment import MPIEnvironment
    from core.client.data_moves import DataMoveError
    from core.futures import CommandFuture
    from core.frontends.attached import AttachedClient, attach
    from core.wire.responses import CommandResponse, Status

_LAZY = {
    "MPICommandClient": ("client.command_client", "MPICommandClient"),
    "MPIEnvironment": ("environment", "MPIEnvironment"),
    "CommandFuture": ("futures", "CommandFuture"),
    "CommandResponse": ("wire.responses", "CommandResponse"),
    "Status": ("wire.responses", "Status"),
    "DataMoveError": ("client.data_moves", "DataMoveError"),
    "attach": ("frontends.attached", "attach"),
    "AttachedClient": ("frontends.attached", "AttachedClient"),
}

make_launcher_findable()
prepare_open_mpi()
keep_spawn_local()


def __getattr__(name: str):
    if name in _LAZY:
        import importlib
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(f"{__name__}.{module}"), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
