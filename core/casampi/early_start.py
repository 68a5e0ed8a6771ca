"""Under `python -m core --casa`, the servers start as the program begins to import casatasks.

A casampi job's server ranks import casatasks as soon as they start, alongside the client. An
mpipanel server imports CASA in its preload (`core.casa.server_setup`), which runs once the
client has started its services, and casampi's client starts them at the first parallel task:
that task would wait for every server's import, seconds on a loaded machine. Starting the
services of the casampi client (`core.casampi.MPICommandClient`) when the program's own import
begins lets the servers import CASA while the program does. Its casampi life cycle stays 'not
started'. A program that already runs a client of its own keeps it; the window is not concerned
(its client is its own).
"""
from __future__ import annotations

import importlib.abc
import sys


class ServersStartWithCasatasks(importlib.abc.MetaPathFinder):
    """Starts the servers at the first `import casatasks`, then leaves `sys.meta_path`. It finds
    no module itself."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "casatasks":
            sys.meta_path.remove(self)
            from core.environment import running_clients
            if not running_clients():
                from core.casampi.MPICommandClient import MPICommandClient
                MPICommandClient().native.start_services()
        return None


def install() -> None:
    sys.meta_path.insert(0, ServersStartWithCasatasks())
