"""The `--casa` switch: `import casampi...` resolves to `core.casampi...` in this process and in
every process it starts (spawned servers, workers), without a top-level `casampi` package.

Why a meta-path finder and not a `casampi` directory on PYTHONPATH: a machine that has the real
casampi keeps it for other programs, and only a process started with `--casa` sees ours. The
finder hands back the very module object of `core.casampi.X`, so `casampi.MPICommandClient` and
`core.casampi.MPICommandClient` are one module and its singletons exist once. It must be in place
before user code, or casatasks, imports anything: `import casatasks` itself imports
`casampi.private.start_mpi`. Children learn of the switch from `SWITCH_VARIABLE` in their
environment, which `core.boot` honours before it imports anything else.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import os
import sys

SWITCH_VARIABLE = "MPIPANEL_CASA"
ALIAS = "casampi"
TARGET = "core.casampi"
INSTALL_HINT = "pip install 'mpipanel[casa]'"


class CasampiAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds `casampi` and `casampi.X` as the modules `core.casampi` and `core.casampi.X`."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != ALIAS and not fullname.startswith(ALIAS + "."):
            return None
        real = importlib.util.find_spec(TARGET + fullname[len(ALIAS):])
        if real is None:
            return None
        return importlib.util.spec_from_loader(fullname, self, origin=real.origin,
                                               is_package=real.submodule_search_locations is not None)

    def create_module(self, spec):
        module = importlib.import_module(TARGET + spec.name[len(ALIAS):])
        spec.loader_state = module.__spec__
        return module

    def exec_module(self, module) -> None:
        """Nothing to run: the module ran under its own name. The import machinery has just
        set its `__spec__` to the alias's; give it back its own."""
        module.__spec__ = module.__spec__.loader_state


def install() -> None:
    """Put the alias in front of every other finder, here and in the processes started from here."""
    os.environ[SWITCH_VARIABLE] = "1"
    if any(isinstance(finder, CasampiAlias) for finder in sys.meta_path):
        return
    loaded = sorted(name for name in sys.modules if name == ALIAS or name.startswith(ALIAS + "."))
    if loaded:
        raise RuntimeError(f"--casa: the modules {loaded} were imported before the switch took effect; "
                           f"they would not be mpipanel's")
    sys.meta_path.insert(0, CasampiAlias())


def set_up_servers(log_dir: str) -> None:
    """Make every server of this process's clients a casampi server (`core.casa.server_setup`:
    casampi's namespace, a casalog file per server in `log_dir`, its lines in the server's log),
    in every fresh namespace, restarted workers included."""
    from core import environment
    from core.casa.server_setup import preload_code
    environment.SERVER_PRELOADS.add(preload_code(log_dir))


def set_up_client_side() -> None:
    """Give rank 0's client-side worker (`core.console`: the Client target, scripts run in the
    window) casampi's namespace, as in a CASA session: `flagdata(vis='x.mms')` typed there is
    casatasks' and fans out to the servers through the window's client; its casalog lines go to
    the Client pane."""
    from core import environment
    from core.casa.server_setup import CLIENT_SIDE_PRELOAD
    environment.CLIENT_SIDE_PRELOADS.add(CLIENT_SIDE_PRELOAD)


def install_if_requested() -> None:
    """In a child process: install the alias if the process that started it had the switch on."""
    if os.environ.get(SWITCH_VARIABLE) == "1":
        install()


def missing_casa() -> str | None:
    """Why `--casa` cannot work here and how to fix it, or None when casatools imports.

    It imports casatools rather than only finding it: an installation that is there but broken
    (a missing shared library) fails the same way, and says so with its own error.
    """
    try:
        import casatools  # noqa: F401 - the check itself
    except ImportError as exc:
        return (f"--casa needs CASA's casatools and casatasks, which cannot be imported here ({exc}). "
                f"Install them with: {INSTALL_HINT}")
    return None
