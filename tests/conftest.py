"""Shared fixtures: real spawned MPI servers, and the no-orphans check after the run."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from mpi_helpers import server_processes, started_client, wait_for_no_servers
from services import SlurmCluster, service_problem, sshd_login
from xvfb_display import missing_programs, running_xvfb

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

UNIT = Path(__file__).parent / "unit"


def pytest_collection_modifyitems(items):
    """The unit layer runs first: broken pure logic shows in seconds, before any server starts."""
    items.sort(key=lambda item: UNIT not in item.path.parents)


def _launcher_ended() -> str | None:
    """Why this process can spawn no more servers (`core.mpi_launcher.SpawnedLauncher`), if so."""
    launch = sys.modules.get("core.client.launch")  # not imported: nothing was spawned here
    return None if launch is None else launch.SPAWNED_LAUNCHER.ended()


_LAUNCHER_END: list[str] = []
"""Where and why MPICH's launcher of this test run ended, if it did (`pytest_runtest_protocol`)."""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Note the test in whose run (its module's fixtures included) MPICH's launcher of this
    process ended: every later test that spawns servers from this process fails then, with
    the launcher's message, not the cause (a CI run once showed 26 such failures)."""
    ended_before = _launcher_ended()
    result = yield
    if ended_before is None and (why := _launcher_ended()) is not None:
        _LAUNCHER_END.append(f"MPICH's launcher of this test run was found ended after {item.nodeid} "
                             f"(it takes a moment to end: the test before may have lost a server): {why}")
    return result


def pytest_terminal_summary(terminalreporter):
    for line in _LAUNCHER_END:
        terminalreporter.write_line(line, red=True)


@pytest.fixture(scope="session", autouse=True)
def no_orphan_servers():
    """Tag every process this run starts, and check at the end that none of them outlived it."""
    os.environ["MPIPANEL_TEST_RUN"] = str(os.getpid())
    yield
    assert wait_for_no_servers(), f"server processes left running: {server_processes()}"


@pytest.fixture(scope="module")
def client():
    """Two isolated servers spawned from this test process, shared by a module's tests."""
    with started_client(2) as c:
        yield c


@pytest.fixture
def xvfb():
    """A real X server: (its process, the DISPLAY to reach it)."""
    if missing := missing_programs():
        pytest.skip(f"{', '.join(missing)} not installed (Debian: apt-get install xvfb x11-utils)")
    with running_xvfb() as server_and_display:
        yield server_and_display


def _needs(service: str) -> None:
    if problem := service_problem(service):
        pytest.skip(problem)


@pytest.fixture
def slurm(tmp_path):
    """A one-node Slurm cluster (tests/services.py) to sbatch jobs to; this test's unended jobs are
    cancelled afterwards."""
    _needs("slurm")
    cluster = SlurmCluster(tmp_path)
    yield cluster
    cluster.cancel_all()


@pytest.fixture(scope="session")
def sshd(tmp_path_factory):
    """The test sshd on 127.0.0.1:2222 (tests/services.py), as an SshLogin with this run's own ssh config."""
    _needs("sshd")
    return sshd_login(tmp_path_factory.mktemp("ssh"))
