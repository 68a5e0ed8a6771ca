"""casampi's `start_mpi`, which `import casatasks` imports in every process.

casampi turns a server rank that imports it into a server that never returns. With mpipanel the
processes that import casatasks are the client, which goes on, the server's worker, which is
already serving, and rank 0's client-side worker (`core.console`, whose `core.MPIEnvironment` is
the window's, by proxy): here it is a no-op and imports no MPI. Only a server rank that reached it (an
mpiexec job whose ranks all run the user's program, without `python -m core`) is sent to serve
and then exit, as casampi does.
"""
from __future__ import annotations

import os

from core.wire.messages import SERVER_RANK_VARIABLE


def _serve_if_an_idle_server_rank() -> None:
    if SERVER_RANK_VARIABLE in os.environ:
        return
    from core import MPIEnvironment
    if not MPIEnvironment.is_mpi_client:
        from core import roles
        roles.serve_and_exit()


_serve_if_an_idle_server_rank()
