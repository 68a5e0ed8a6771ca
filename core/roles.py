"""Taking the server role in a process that was started as a client program.

Under `mpiexec -n N python script.py` every rank runs the same script, and each reaches
`MPICommandClient().start_services()`: rank 0 becomes the client, every other rank must serve it
instead of going on with the script. The client calls this when it finds itself on a server rank;
it is a module of its own, outside `core.client`, because the client and `core.server` know
nothing of each other: the server is imported here, in the function, only on a rank that serves.
"""
from __future__ import annotations

import sys
from typing import NoReturn


def serve_and_exit() -> NoReturn:
    """Serve the job's client until it stops this rank, then end the process (status 0)."""
    from core.server.rank import main
    main()
    sys.exit(0)
