"""Bringing servers up (spawned, or found in the mpiexec world) and sending them the hello.

After the hello each server connects its doorbell socket (`core.wire.doorbell`) and answers `READY`
through the engine. A group shares one communicator: the world, or one spawn's
intercommunicator, which must be disconnected as a whole when its servers stop.
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from collections.abc import Callable

from mpi4py import MPI

from core.boot import python_code
from core.mpi_launcher import SpawnedLauncher, launcher_in_own_process_group, missing_launcher_message
from core.wire.doorbell import DoorbellListener, address_towards
from core.wire.messages import ServerConfig, StopRequest, Tag
from core.wire.transport import Peer, send_unannounced

CONNECT_TIMEOUT = 120.0
SPAWNED_LAUNCHER = SpawnedLauncher()
"""A singleton's launcher, started by its first spawn and used by every later one."""
SERVER_CODE = python_code("core.server.rank", "main()")


@dataclass
class ServerGroup:
    comm: MPI.Comm
    peers: dict[int, Peer]
    spawned: bool
    abandoned: set[int] = field(default_factory=set)
    """Ranks replaced after they were lost: they can no longer take part in a disconnect."""

    def abandon(self, rank: int) -> None:
        self.abandoned.add(rank)

    def disconnect(self) -> bool:
        """End the group's communicator so spawned servers can finalize and exit; False when a
        lost member makes that impossible (the disconnect is collective)."""
        if not self.spawned:
            return True
        if self.abandoned:
            return False
        self.comm.Disconnect()
        return True


ConfigFactory = Callable[[int, DoorbellListener], ServerConfig]
"""Makes the hello for one server rank, given the listener its doorbell must connect to."""


def spawn_servers(first_rank: int, count: int, make_config: ConfigFactory) -> ServerGroup:
    """Spawn `count` server processes numbered from `first_rank`, in this process's directory.

    Raises RuntimeError saying what to install when MPI has no launcher to start them with: a
    singleton MPICH would otherwise wait forever for the one it failed to exec, and says why when
    the launcher has ended (`SpawnedLauncher`). A singleton's launcher starts in a process group
    of its own, where its clean-ups cannot kill this process."""
    singleton = MPI.COMM_WORLD.Get_size() == 1
    if singleton:
        if (why := missing_launcher_message() or SPAWNED_LAUNCHER.ended()) is not None:
            raise RuntimeError(why)
        launcher_in_own_process_group()  # before the first spawn starts it
    info = MPI.Info.Create()
    info.Set("wdir", os.getcwd())
    try:
        comm = MPI.COMM_SELF.Spawn(sys.executable, args=["-c", SERVER_CODE], maxprocs=count, info=info)
    finally:
        info.Free()
    if singleton:
        SPAWNED_LAUNCHER.note_started()
    ranks = {first_rank + i: i for i in range(count)}
    return ServerGroup(comm, _greet(comm, ranks, make_config, "127.0.0.1"), spawned=True)


def world_servers(make_config: ConfigFactory) -> ServerGroup:
    """The servers of an mpiexec job: world ranks 1..N-1, which may be on other hosts."""
    comm = MPI.COMM_WORLD
    ranks = {r: r for r in range(1, comm.Get_size())}
    bind = os.environ.get("MPIPANEL_DOORBELL_BIND") or doorbell_addresses(comm, list(ranks))
    return ServerGroup(comm, _greet(comm, ranks, make_config, bind), spawned=False)


def doorbell_addresses(comm: MPI.Comm, ranks: list[int]) -> list[str]:
    """Where the doorbell must listen for these world ranks, asked of them (`Tag.WHERE`): loopback
    for those on this host, and for the others this host's address on the route to them; never
    every interface."""
    for rank in ranks:
        send_unannounced(comm, rank, Tag.WHERE, None)
    here = MPI.Get_processor_name()
    addresses = []
    for host, remote in _answers(comm, ranks, Tag.WHERE, CONNECT_TIMEOUT):
        address = "127.0.0.1" if host == here else address_towards(remote)
        if address is None:
            raise RuntimeError(f"no route from this host to server host {host} ({', '.join(remote)}); "
                               f"set MPIPANEL_DOORBELL_BIND to the address the servers can reach")
        addresses.append(address)
    return sorted(set(addresses), key=addresses.index)


def _answers(comm: MPI.Comm, ranks: list[int], tag: Tag, timeout: float) -> list:
    """One unannounced answer of each rank, in rank order, sleeping between polls (there is no
    doorbell yet); RuntimeError naming the silent ranks after `timeout`."""
    status = MPI.Status()
    deadline = time.monotonic() + timeout
    answers: dict[int, object] = {}
    delay = 0.0005
    while len(answers) < len(ranks):
        if comm.Iprobe(MPI.ANY_SOURCE, tag, status):
            source = status.Get_source()
            answers[source] = comm.recv(source=source, tag=tag)[0]
            delay = 0.0005
            continue
        if time.monotonic() > deadline:
            raise RuntimeError(f"servers {sorted(set(ranks) - answers.keys())} did not answer within {timeout:g} s")
        time.sleep(delay)
        delay = min(2 * delay, 0.05)
    return [answers[rank] for rank in ranks]


def _greet(comm: MPI.Comm, ranks: dict[int, int], make_config: ConfigFactory,
           bind: str | list[str]) -> dict[int, Peer]:
    """Send each server its hello and wait until its doorbell is connected."""
    listener = DoorbellListener(bind)
    try:
        for rank, dest in ranks.items():
            send_unannounced(comm, dest, Tag.HELLO, make_config(rank, listener))
        sockets = listener.accept(set(ranks), CONNECT_TIMEOUT)
    finally:
        listener.close()
    return {rank: Peer(comm, dest, sockets[rank]) for rank, dest in ranks.items()}


def release_world_servers() -> None:
    """Tell the servers of an mpiexec job that no client will come, so that they exit."""
    comm = MPI.COMM_WORLD
    for rank in range(1, comm.Get_size()):
        send_unannounced(comm, rank, Tag.STOP, StopRequest(force=False, finalize=True))
