"""A client set up as `mpipanel --casa` sets it up, inside a test process, for the Client target's tests.

`mpipanel --casa` installs the switch before anything starts; a test process has spawned servers
before (MPICH's spawned servers get the environment of the process's first spawn), so the
servers' preload selects the CASA config and installs the switch itself before the CASA set-up.
The client-side worker is an ordinary child of this process and gets both from its environment.
Everything the switch changes in this process (its finder, its variable, the preloads) is undone
afterwards.
"""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import pytest
from core.casa.offline import config_preload, make_mms, make_ms, private_config

SUB_MS = 4
SWITCH_IN_A_SERVER = "from core.casampi.switch import install as _install\n_install()\ndel _install\n"


@contextlib.contextmanager
def casa_console_client(directory: Path, servers: int = 2):
    """A started client with `servers` servers under `--casa`, and a Multi-MS of `SUB_MS` sub-MSs."""
    from core import MPICommandClient, environment
    from core.casampi import switch
    casa_environment = private_config(directory)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in casa_environment.items():
            patch.setenv(name, value)
        # Before the switch: partition must run serially, in this process.
        mms = make_mms(make_ms(directory / "sim.ms", scans=4), directory / "sim.mms", SUB_MS)
        patch.setattr(sys, "meta_path", list(sys.meta_path))
        patch.setenv(switch.SWITCH_VARIABLE, "0")
        patch.setattr(environment.SERVER_PRELOADS, "codes", [])
        patch.setattr(environment.CLIENT_SIDE_PRELOADS, "codes", [])
        switch.install()
        environment.SERVER_PRELOADS.add(config_preload(casa_environment) + SWITCH_IN_A_SERVER)
        switch.set_up_servers(str(directory / "logs"))
        switch.set_up_client_side()
        with MPICommandClient(servers=servers, print_output=False, session_log=False) as client:
            yield client, mms
