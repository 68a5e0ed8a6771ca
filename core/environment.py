"""Where this process stands in the MPI job: client or server, world or spawned.

Two launch modes give the same picture (client = rank 0, servers numbered 1..N):
- `mpiexec -n N ...`: the servers are ranks 1..N-1 of `MPI.COMM_WORLD`;
- a plain `python ...` (a world of one): the client spawns its servers with `MPI_Comm_spawn`.
MPI is initialised on first use of this module's properties, not on import.

The clients running in this process register here (`client_started`), so that the environment can
answer for them without importing the client, which sits above it.
"""
from __future__ import annotations

import os
import socket


def _mpi():
    from mpi4py import MPI
    return MPI


_running_clients: list = []
"""Clients whose services run in this process, oldest first (`core.client.command_client`)."""


def client_started(client) -> None:
    _running_clients.append(client)


def client_stopped(client) -> None:
    _running_clients.remove(client)


def running_clients() -> list:
    return list(_running_clients)


_start_hooks: list = []
"""Called with the next client of this process whose servers are ready (`client_ready`)."""


def when_a_client_starts(hook) -> None:
    """Call `hook(client)` once, when the next client of this process has its servers ready (and
    its session log open): `python -m core --listen` makes the program's first client a session
    that frontends can attach to (`core.frontends.headless`)."""
    _start_hooks.append(hook)


def client_ready(client) -> None:
    hooks, _start_hooks[:] = list(_start_hooks), []
    for hook in hooks:
        hook(client)


_held_stops: list = []
"""Clients whose `stop_services` is deferred (`python -m core --listen --linger`)."""


def hold_stop(client) -> None:
    """Make `client.stop_services()` return without stopping anything until `release_stop`: the
    servers of a program run with `--linger` outlive the program, whatever it calls."""
    if not any(held is client for held in _held_stops):
        _held_stops.append(client)


def stop_is_held(client) -> bool:
    return any(held is client for held in _held_stops)


def release_stop(client) -> None:
    _held_stops[:] = [held for held in _held_stops if held is not client]


class Preloads:
    """Code run first in every fresh namespace of some kind, in the order it was added."""

    def __init__(self) -> None:
        self.codes: list[str] = []

    def add(self, code: str) -> None:
        self.codes.append(code)

    def code(self) -> str | None:
        return "\n".join(self.codes) if self.codes else None


SERVER_PRELOADS = Preloads()
"""Run in every server namespace of the clients made in this process, before a client's own
`preload`: `--casa` adds CASA's server set-up, `python -m core --preload` the user's."""

CLIENT_SIDE_PRELOADS = Preloads()
"""Run in every fresh namespace of this process's client-side workers (`core.console`): `--casa`
adds casampi's namespace."""


def default_server_count() -> int:
    """`MPIPANEL_SERVERS` if set, else min(4, CPU count)."""
    value = os.environ.get("MPIPANEL_SERVERS")
    if value:
        try:
            count = int(value)
        except ValueError:
            raise ValueError(f"MPIPANEL_SERVERS must be a whole number of servers, not {value!r}") from None
        if count < 1:
            raise ValueError(f"MPIPANEL_SERVERS must be at least 1, not {count}")
        return count
    return min(4, os.cpu_count() or 1)


class _MPIEnvironment:
    """The mpi4casa `MPIEnvironment`: static facts about this process in the MPI job."""

    @property
    def is_mpi_enabled(self) -> bool:
        try:
            self.mpi_world_size  # noqa: B018 - initialises MPI
        except ImportError:
            return False
        return True

    @property
    def mpi_world_size(self) -> int:
        return _mpi().COMM_WORLD.Get_size()

    @property
    def mpi_processor_rank(self) -> int:
        return _mpi().COMM_WORLD.Get_rank()

    @property
    def is_spawned_server(self) -> bool:
        return _mpi().Comm.Get_parent() != _mpi().COMM_NULL

    @property
    def is_mpi_client(self) -> bool:
        return self.mpi_processor_rank == 0 and not self.is_spawned_server

    @property
    def launch_mode(self) -> str:
        """'mpiexec' when the servers are world ranks, 'spawn' when the client spawns them."""
        return "mpiexec" if self.mpi_world_size > 1 else "spawn"

    @property
    def hostname(self) -> str:
        try:
            return _mpi().Get_processor_name()
        except ImportError:
            return socket.gethostname()

    @property
    def mpi_library(self) -> str:
        """The MPI library's name and version, e.g. 'MPICH 4.3.0' or 'Open MPI v5.0.8'."""
        return _mpi().Get_library_version().strip().splitlines()[0].replace("Version:", "").strip()

    @property
    def mpi4py_version(self) -> str:
        import mpi4py
        return mpi4py.__version__

    def mpi_server_rank_list(self) -> list[int]:
        """Ranks of the running client's servers; in an mpiexec job, ranks 1..N-1 before that."""
        if _running_clients:
            return _running_clients[-1].server_ranks()
        if self.launch_mode == "mpiexec":
            return list(range(1, self.mpi_world_size))
        return []


MPIEnvironment = _MPIEnvironment()
