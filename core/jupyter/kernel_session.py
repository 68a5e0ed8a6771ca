"""`%mpipanel start`: the kernel becomes the client of servers it spawns.

What a kernel needs that a script does not:

* Kernel > Interrupt sends SIGINT to the kernel's whole process group, where MPICH's launcher
  would forward it and then kill the job; every spawning client starts the launcher in a group
  of its own (`core.mpi_launcher.launcher_in_own_process_group`).
* The launcher started by the first spawn keeps the environment of that moment, and every later
  spawn (a new start, a replaced server) gets it: so `--casa` (`core.casampi.switch`, inherited
  through the environment) is decided by the kernel's first start, before MPI starts, and a
  start that asks otherwise is refused. ipykernel's inline matplotlib backend is left out of
  that environment: it draws into a kernel, and the servers have none.
* A kernel that shuts down with its servers running stops them, interrupting what runs: the
  client's own exit hook would wait for running commands forever.
"""
from __future__ import annotations

import atexit
import contextlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from core.jupyter.session_client import SessionClient

INLINE_BACKEND = "module://matplotlib_inline"


class StartRefusedError(RuntimeError):
    """`%mpipanel start` cannot do what it was asked; the message says why and what to do."""


@dataclass(frozen=True)
class StartOptions:
    servers: int | None = None
    casa: bool = False
    isolation: str = "process"


_first_start: StartOptions | None = None
"""The options of this kernel's first start, which fixed the launcher's environment."""


def start(options: StartOptions) -> SessionClient:
    """Spawn the servers and wait until they are ready; the client, owned by the kernel."""
    global _first_start
    _check_casa(options)
    if _first_start is None and options.casa:
        _install_casa()
    from core import MPICommandClient
    client = MPICommandClient(servers=options.servers, isolation=options.isolation, print_output=False)
    with _without_inline_backend():
        try:
            client.start_services()
        finally:
            if _first_start is None:
                _first_start = options
    session = SessionClient(client, owned=True)
    atexit.register(_stop_at_exit, session)
    return session


def stop(session: SessionClient) -> None:
    atexit.unregister(_stop_at_exit)
    session.close()


def _stop_at_exit(session: SessionClient) -> None:
    """Registered after the client's own exit hook, so it runs first (LIFO) and interrupts."""
    session.close()


def _check_casa(options: StartOptions) -> None:
    if _first_start is not None and options.casa != _first_start.casa:
        raise StartRefusedError(f"this kernel's first %mpipanel start was {'with' if _first_start.casa else 'without'} "
                           f"--casa, and MPI's launcher keeps that choice for every later start: restart the "
                           f"kernel to start {'with' if options.casa else 'without'} it")
    if options.casa and _first_start is None:
        if _mpi_initialised():
            raise StartRefusedError("--casa must be chosen before MPI starts in this kernel, and MPI has started "
                               "(mpi4py was imported): restart the kernel and run %mpipanel start --casa first")
        from core.casampi import switch
        problem = switch.missing_casa()
        if problem:
            raise StartRefusedError(problem)


def _install_casa() -> None:
    """Every server a casampi server, as `mpipanel --casa` makes them (`core.casampi.switch`)."""
    from core.casampi import switch
    try:
        switch.install()
    except RuntimeError as exc:
        raise StartRefusedError(str(exc)) from None
    switch.set_up_servers(str(Path.cwd()))


def _mpi_initialised() -> bool:
    mpi = sys.modules.get("mpi4py.MPI")
    return mpi is not None and mpi.Is_initialized()


@contextlib.contextmanager
def _without_inline_backend():
    """ipykernel sets MPLBACKEND to its inline backend; spawned servers must not inherit it."""
    saved = os.environ.get("MPLBACKEND")
    if saved is not None and saved.startswith(INLINE_BACKEND):
        del os.environ["MPLBACKEND"]
    try:
        yield
    finally:
        if saved is not None:
            os.environ["MPLBACKEND"] = saved
