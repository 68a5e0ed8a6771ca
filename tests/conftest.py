"""Shared fixtures: real spawned MPI servers, mpiexec runs, and the no-orphans check."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parent.parent
SERVER_MARKERS = ("from core.server import main", "core.worker")


def server_processes() -> list[psutil.Process]:
    """mpipanel server ranks and workers started by this test run (by their command line)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or ())
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


@pytest.fixture(scope="session", autouse=True)
def no_orphan_servers():
    """Tag every process this run starts, and check at the end that none of them outlived it."""
    os.environ["MPIPANEL_TEST_RUN"] = str(os.getpid())
    yield
    assert wait_for_no_servers(), f"server processes left running: {server_processes()}"


def wait_for_no_servers(timeout: float = 10.0) -> bool:
    """True once no server process of this run is running (they may take a moment to exit)."""
    deadline = time.monotonic() + timeout
    while server_processes():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.fixture(scope="module")
def client():
    """Two isolated servers spawned from this test process, shared by a module's tests."""
    from core import MPICommandClient
    c = MPICommandClient(servers=2, print_output=False)
    c.start_services()
    yield c
    c.stop_services(force_command_request_interruption=True)


def run_mpiexec(nprocs: int, *args: str, timeout: float = 120, env: dict | None = None,
                cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run `mpiexec -n nprocs python *args` and return its completed process (text output)."""
    mpiexec = Path(sys.executable).with_name("mpiexec")
    command = [str(mpiexec if mpiexec.exists() else "mpiexec"), "-n", str(nprocs), sys.executable, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})}, cwd=cwd)


def run_python(*args: str, timeout: float = 120, env: dict | None = None,
               cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})}, cwd=cwd)
